package store

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// BoltConfig configures the embedded store.
type BoltConfig struct {
	// Dir is the work directory; the database is Dir/master.db.
	Dir string
	// Timeout bounds waiting for the file lock (another master on the same
	// directory); 0 means 5 s.
	Timeout time.Duration
}

// Bolt is the embedded Store: one bbolt file.
type Bolt struct {
	db *bolt.DB
}

var _ Store = (*Bolt)(nil)

// OpenBolt opens (creating if needed) the embedded store in cfg.Dir.
func OpenBolt(cfg BoltConfig) (*Bolt, error) {
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create %s: %w", cfg.Dir, err)
	}
	path := filepath.Join(cfg.Dir, "master.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: cfg.Timeout})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return &Bolt{db: db}, nil
}

func checkName(bucket, key string) error {
	if bucket == "" || key == "" || strings.ContainsRune(key, 0) {
		return fmt.Errorf("store: invalid bucket %q or key %q", bucket, key)
	}
	return nil
}

// Get implements Store.
func (b *Bolt) Get(_ context.Context, bucket, key string) ([]byte, error) {
	if err := checkName(bucket, key); err != nil {
		return nil, err
	}
	var out []byte
	err := b.db.View(func(tx *bolt.Tx) error {
		bk := tx.Bucket([]byte(bucket))
		if bk == nil {
			return ErrNotFound
		}
		v := bk.Get([]byte(key))
		if v == nil {
			return ErrNotFound
		}
		out = bytes.Clone(v)
		return nil
	})
	if err == bolt.ErrDatabaseNotOpen {
		return nil, ErrClosed
	}
	return out, err
}

// List implements Store.
func (b *Bolt) List(_ context.Context, bucket, prefix string) ([]KV, error) {
	var out []KV
	err := b.db.View(func(tx *bolt.Tx) error {
		bk := tx.Bucket([]byte(bucket))
		if bk == nil {
			return nil
		}
		c := bk.Cursor()
		p := []byte(prefix)
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			out = append(out, KV{Key: string(k), Value: bytes.Clone(v)})
		}
		return nil
	})
	if err == bolt.ErrDatabaseNotOpen {
		return nil, ErrClosed
	}
	if err != nil {
		return nil, fmt.Errorf("store: list %s/%s: %w", bucket, prefix, err)
	}
	return out, nil
}

// Apply implements Store: one read-write transaction, one fsync. (The
// master groups its writes itself; bbolt's Batch would add its 10 ms
// coalescing delay to every commit.)
func (b *Bolt) Apply(ctx context.Context, ops ...Op) error {
	for _, op := range ops {
		if err := checkName(op.Bucket, op.Key); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	err := b.db.Update(func(tx *bolt.Tx) error {
		for _, op := range ops {
			bk, err := tx.CreateBucketIfNotExists([]byte(op.Bucket))
			if err != nil {
				return err
			}
			if op.Delete {
				err = bk.Delete([]byte(op.Key))
			} else {
				err = bk.Put([]byte(op.Key), op.Value)
			}
			if err != nil {
				return fmt.Errorf("%s/%s: %w", op.Bucket, op.Key, err)
			}
		}
		return nil
	})
	if err == bolt.ErrDatabaseNotOpen {
		return ErrClosed
	}
	if err != nil {
		return fmt.Errorf("store: apply %d ops: %w", len(ops), err)
	}
	return nil
}

// Close implements Store.
func (b *Bolt) Close() error { return b.db.Close() }
