package store

import (
	"context"
	"errors"
)

// ErrNotFound is returned by Get for a missing key.
var ErrNotFound = errors.New("store: not found")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("store: closed")

// KV is one stored entry.
type KV struct {
	Key   string
	Value []byte
}

// Op is one change in an atomic batch: a put, or a delete when Delete is
// set (deleting a missing key is not an error).
type Op struct {
	Bucket string
	Key    string
	Value  []byte
	Delete bool
}

// Put returns a put operation.
func Put(bucket, key string, value []byte) Op { return Op{Bucket: bucket, Key: key, Value: value} }

// Del returns a delete operation.
func Del(bucket, key string) Op { return Op{Bucket: bucket, Key: key, Delete: true} }

// Store is the master's durable state. Buckets and keys are non-empty
// strings; keys may contain any byte except NUL. Values returned are the
// caller's to keep.
type Store interface {
	// Get returns the value of key in bucket, or ErrNotFound.
	Get(ctx context.Context, bucket, key string) ([]byte, error)
	// List returns the entries of bucket whose keys start with prefix,
	// sorted by key.
	List(ctx context.Context, bucket, prefix string) ([]KV, error)
	// Apply performs all ops atomically: all or none are visible.
	Apply(ctx context.Context, ops ...Op) error
	// Close releases the store.
	Close() error
}
