package zkstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
)

// writeChunks creates the chunk znodes of e (existing ones are kept: a retry
// after a lost connection may find them written).
func (s *Store) writeChunks(e *encoded) error {
	return s.parallel(len(e.Chunks), func(i int) error {
		_, err := s.conn.Create(s.paths.chunk(e.ptr.Blob, i), e.Chunks[i], 0, zk.WorldACL(zk.PermAll))
		if errors.Is(err, zk.ErrNodeExists) {
			return nil
		}
		return err
	})
}

// readChunks reads the chunks of p in parallel.
func (s *Store) readChunks(p pointer) ([][]byte, error) {
	chunks := make([][]byte, p.Chunks)
	err := s.parallel(p.Chunks, func(i int) error {
		data, _, err := s.conn.Get(s.paths.chunk(p.Blob, i))
		chunks[i] = data
		return err
	})
	return chunks, err
}

// deleteBlob deletes the chunks of p; missing ones are fine. Failures are
// logged, not returned: a leftover chunk is garbage for Sweep, never an
// inconsistency.
func (s *Store) deleteBlob(p pointer) {
	err := s.parallel(p.Chunks, func(i int) error {
		err := s.conn.Delete(s.paths.chunk(p.Blob, i), -1)
		if errors.Is(err, zk.ErrNoNode) {
			return nil
		}
		return err
	})
	if err != nil {
		s.cfg.Logger.Warn("zkstore: could not delete replaced chunks; Sweep will", "blob", p.Blob, "err", err)
	}
}

// Sweep deletes chunks that no key references and that are older than
// grace (by the server's clock), i.e. chunks left behind by a master that
// died between writing chunks and committing, or before deleting the chunks
// of a replaced value. grace must exceed the longest Apply (default 10 min
// when 0). It reads every key of every bucket, like a cold start; run it
// rarely (e.g. once after winning an election). It returns how many chunk
// znodes it deleted.
func (s *Store) Sweep(ctx context.Context, grace time.Duration) (int, error) {
	if grace <= 0 {
		grace = 10 * time.Minute
	}
	var deleted int
	err := s.retry(ctx, func() (err error) {
		deleted, err = s.sweep(grace)
		return err
	})
	if err != nil {
		return deleted, fmt.Errorf("zkstore: sweep: %w", err)
	}
	return deleted, nil
}

func (s *Store) sweep(grace time.Duration) (int, error) {
	// The server's "now": the mtime of a znode we touch.
	st, err := s.conn.Set(s.paths.blobs(), nil, -1)
	if err != nil {
		return 0, err
	}
	cutoff := st.Mtime - grace.Milliseconds()
	names, _, err := s.conn.Children(s.paths.blobs())
	if err != nil {
		return 0, err
	}
	var old []string
	for _, n := range names {
		_, cst, err := s.conn.Exists(s.paths.blobs() + "/" + n)
		if err != nil {
			return 0, err
		}
		if cst != nil && cst.Ctime < cutoff {
			old = append(old, n)
		}
	}
	if len(old) == 0 {
		return 0, nil
	}
	live, err := s.referencedBlobs()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, name := range old {
		blob, _, _ := strings.Cut(name, "-")
		if live[blob] {
			continue
		}
		if err := s.conn.Delete(s.paths.blobs()+"/"+name, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
			return n, err
		}
		n++
	}
	return n, nil
}

// referencedBlobs reads every key znode and returns the blobs pointed to.
func (s *Store) referencedBlobs() (map[string]bool, error) {
	buckets, _, err := s.conn.Children(s.paths.buckets())
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, b := range buckets {
		bp := s.paths.buckets() + "/" + b
		shardNames, _, err := s.conn.Children(bp)
		if err != nil {
			return nil, err
		}
		for _, sh := range shardNames {
			names, _, err := s.conn.Children(bp + "/" + sh)
			if err != nil {
				return nil, err
			}
			for _, k := range names {
				keys = append(keys, bp+"/"+sh+"/"+k)
			}
		}
	}
	blobs := make([]string, len(keys))
	err = s.parallel(len(keys), func(i int) error {
		data, _, err := s.conns[i%len(s.conns)].Get(keys[i])
		if errors.Is(err, zk.ErrNoNode) {
			return nil
		}
		if err == nil && len(data) > 0 && data[0] == kindPointer {
			if p, perr := unmarshalPointer(data); perr == nil {
				blobs[i] = p.Blob
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	live := map[string]bool{}
	for _, b := range blobs {
		if b != "" {
			live[b] = true
		}
	}
	return live, nil
}
