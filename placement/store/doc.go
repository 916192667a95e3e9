// Package store holds the master's durable state behind one small Store
// interface: named buckets of keys to opaque values, read one at a time or
// by prefix, changed by atomic batches. The embedded implementation is a
// bbolt file; a ZooKeeper implementation can satisfy the same interface,
// and storetest holds the conformance suite every implementation passes.
package store
