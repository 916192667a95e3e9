package zkstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-zookeeper/zk"

	"github.com/berth-platform/berth/placement/store"
)

// errClosed is store.ErrClosed, returned after Close.
var errClosed = store.ErrClosed

// ErrFenced is returned by Apply on a fenced store once its fence znode is
// gone: this master is no longer the leader and must not write.
var ErrFenced = errors.New("zkstore: fenced: the leadership znode is gone")

// ErrBatchTooLarge is returned by Apply for a batch that cannot fit in one
// ZooKeeper multi request even with every value moved into chunks.
var ErrBatchTooLarge = errors.New("zkstore: batch too large for one ZooKeeper multi")

// format is written to Root/store and checked on Open.
const format = "berth-zkstore/1 shards=256"

// core is what all views of one store share.
type core struct {
	cfg    Config
	conn   *zk.Conn   // writes, Get, chunks
	conns  []*zk.Conn // conn plus extra sessions that spread List's reads
	paths  paths
	codec  codec
	closed atomic.Bool

	madeMu sync.Mutex
	made   map[string]bool // parent znodes known to exist
}

// Store is a store.Store on ZooKeeper.
type Store struct {
	*core
	fence string // znode every Apply checks exists; "" = none
	owner bool   // Close closes the connection
}

var _ store.Store = (*Store)(nil)

// Open connects to ZooKeeper, creates the store's root znodes if needed and
// checks the stored format.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	var conns []*zk.Conn
	for range cfg.Connections {
		conn, err := connect(ctx, cfg)
		if err != nil {
			for _, c := range conns {
				c.Close()
			}
			return nil, err
		}
		conns = append(conns, conn)
	}
	conn := conns[0]
	c := &core{
		cfg: cfg, conn: conn, conns: conns, paths: newPaths(cfg.Root),
		codec: codec{compressAbove: cfg.CompressAbove, chunkSize: cfg.ChunkSize},
		made:  map[string]bool{},
	}
	s := &Store{core: c, owner: true}
	if err := s.retry(ctx, s.initLayout); err != nil {
		s.closeConns()
		return nil, fmt.Errorf("zkstore: open %s: %w", c.paths.base, err)
	}
	return s, nil
}

// initLayout creates the base znodes and checks (or writes) the format.
func (s *Store) initLayout() error {
	for _, p := range []string{s.paths.base, s.paths.buckets(), s.paths.blobs()} {
		if err := ensurePath(s.conn, p); err != nil {
			return err
		}
	}
	data, st, err := s.conn.Get(s.paths.base)
	if err != nil {
		return err
	}
	switch string(data) {
	case format:
		return nil
	case "":
		_, err := s.conn.Set(s.paths.base, []byte(format), st.Version)
		if errors.Is(err, zk.ErrBadVersion) {
			return s.initLayout() // someone else initialised it at the same time
		}
		return err
	}
	return fmt.Errorf("stored format %q, this version reads %q", data, format)
}

// Fenced returns a view of s whose Apply also checks, inside the same multi,
// that the znode node exists (the leader's election znode): once it is gone
// every Apply fails with ErrFenced. Close on the view does nothing; close s.
func (s *Store) Fenced(node string) *Store {
	return &Store{core: s.core, fence: node}
}

// Close implements store.Store.
func (s *Store) Close() error {
	if s.owner && !s.closed.Swap(true) {
		s.closeConns()
	}
	return nil
}

func (c *core) closeConns() {
	for _, conn := range c.conns {
		conn.Close()
	}
}

func checkName(bucket, key string) error {
	if bucket == "" || key == "" || strings.ContainsRune(key, 0) || strings.ContainsRune(bucket, 0) {
		return fmt.Errorf("zkstore: invalid bucket %q or key %q", bucket, key)
	}
	return nil
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	if err := checkName(bucket, key); err != nil {
		return nil, err
	}
	var out []byte
	err := s.retry(ctx, func() (err error) {
		out, err = s.read(s.conn, s.paths.key(bucket, key))
		return err
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("zkstore: get %s/%s: %w", bucket, key, err)
	}
	return out, err
}

// read returns the value stored at a key znode, following a chunk pointer.
// A pointer whose chunks vanish while being read was replaced meanwhile:
// read again.
func (s *Store) read(conn *zk.Conn, p string) ([]byte, error) {
	for range 5 {
		data, _, err := conn.Get(p)
		if errors.Is(err, zk.ErrNoNode) {
			return nil, store.ErrNotFound
		}
		if err != nil {
			return nil, err
		}
		if len(data) == 0 || data[0] != kindPointer {
			return decodeInline(data)
		}
		ptr, err := unmarshalPointer(data)
		if err != nil {
			return nil, err
		}
		chunks, err := s.readChunks(ptr)
		if errors.Is(err, zk.ErrNoNode) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return assemble(ptr, chunks)
	}
	return nil, fmt.Errorf("zkstore: %s: value keeps changing under the reader", p)
}

// List implements store.Store. It reads every shard of the bucket in
// parallel; it is not a snapshot across keys (a concurrent Apply may be
// seen in part), but every value read is one that was written.
func (s *Store) List(ctx context.Context, bucket, prefix string) ([]store.KV, error) {
	if bucket == "" {
		return nil, errors.New("zkstore: list: empty bucket name")
	}
	var out []store.KV
	err := s.retry(ctx, func() (err error) {
		out, err = s.list(bucket, prefix)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("zkstore: list %s/%s: %w", bucket, prefix, err)
	}
	return out, nil
}

func (s *Store) list(bucket, prefix string) ([]store.KV, error) {
	bp := s.paths.bucket(bucket)
	// The extra sessions may sit on other servers of the ensemble: make
	// them catch up with everything this store wrote before reading.
	for _, conn := range s.conns[1:] {
		if _, err := conn.Sync(s.paths.buckets()); err != nil {
			return nil, err
		}
	}
	shardNames, _, err := s.conn.Children(bp)
	if errors.Is(err, zk.ErrNoNode) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s.madeMu.Lock()
	for _, sh := range shardNames {
		s.made[bp+"/"+sh] = true // Apply need not create them
	}
	s.madeMu.Unlock()
	kvs, znodes, err := s.listKeys(bp, shardNames, prefix)
	if err != nil {
		return nil, err
	}
	found := make([]bool, len(kvs))
	err = s.parallel(len(kvs), func(i int) error {
		v, err := s.read(s.conns[i%len(s.conns)], znodes[i])
		if errors.Is(err, store.ErrNotFound) {
			return nil // deleted since the listing
		}
		kvs[i].Value, found[i] = v, err == nil
		return err
	})
	if err != nil {
		return nil, err
	}
	out := kvs[:0]
	for i, kv := range kvs {
		if found[i] {
			out = append(out, kv)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// listKeys lists the shards in parallel and returns the keys (and their
// znodes) that start with prefix.
func (s *Store) listKeys(bp string, shardNames []string, prefix string) ([]store.KV, []string, error) {
	names := make([][]string, len(shardNames))
	err := s.parallel(len(shardNames), func(i int) error {
		kids, _, err := s.conns[i%len(s.conns)].Children(bp + "/" + shardNames[i])
		if errors.Is(err, zk.ErrNoNode) {
			return nil
		}
		names[i] = kids
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	var kvs []store.KV
	var znodes []string
	for i, kids := range names {
		for _, n := range kids {
			key, err := decodeName(n)
			if err != nil {
				return nil, nil, err
			}
			if strings.HasPrefix(key, prefix) {
				kvs = append(kvs, store.KV{Key: key})
				znodes = append(znodes, bp+"/"+shardNames[i]+"/"+n)
			}
		}
	}
	return kvs, znodes, nil
}

// parallel runs fn(0..n-1) on at most cfg.Parallelism goroutines and
// returns the first error.
func (s *Store) parallel(n int, fn func(i int) error) error {
	if n == 0 {
		return nil
	}
	workers := min(n, s.cfg.Parallelism)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { firstErr = err })
					failed.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}
