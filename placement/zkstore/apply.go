package zkstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/go-zookeeper/zk"

	"github.com/berth-platform/berth/placement/store"
)

// item is one key's final change in a batch.
type item struct {
	bucket, key, path string
	del               bool
	value             []byte
	enc               *encoded // puts only
	// prev is the znode data this item's op replaced in a multi whose
	// outcome is unknown (connection lost): if that multi landed, prev's
	// chunks must be collected.
	prev []byte
}

// maxConflicts bounds re-reads after version conflicts with other writers.
const maxConflicts = 20

// Apply implements store.Store: the final change of every key in ops is
// committed in one ZooKeeper multi, checked against the versions read just
// before (and against the fence, when set), retried on conflicts and on
// lost connections.
func (s *Store) Apply(ctx context.Context, ops ...store.Op) error {
	for _, op := range ops {
		if err := checkName(op.Bucket, op.Key); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return errClosed
	}
	items := s.collapse(ops)
	if err := s.encodeAll(items); err != nil {
		return err
	}
	for _, it := range items {
		if it.enc == nil || it.enc.Pointer == nil {
			continue
		}
		if err := s.retry(ctx, func() error { return s.writeChunks(it.enc) }); err != nil {
			s.dropBlobs(items)
			return fmt.Errorf("zkstore: apply: write chunks of %s/%s: %w", it.bucket, it.key, err)
		}
	}
	ambiguous := false
	err := s.retry(ctx, func() error {
		err := s.commit(items)
		if transient(err) {
			ambiguous = true
		}
		return err
	})
	if err != nil {
		if !ambiguous {
			s.dropBlobs(items)
		}
		return fmt.Errorf("zkstore: apply %d ops: %w", len(ops), err)
	}
	return nil
}

// collapse keeps the last op per key (the batch's final effect), in order
// of first appearance.
func (s *Store) collapse(ops []store.Op) []*item {
	index := map[[2]string]int{}
	var items []*item
	for _, op := range ops {
		it := &item{bucket: op.Bucket, key: op.Key, path: s.paths.key(op.Bucket, op.Key),
			del: op.Delete, value: op.Value}
		k := [2]string{op.Bucket, op.Key}
		if i, ok := index[k]; ok {
			items[i] = it
			continue
		}
		index[k] = len(items)
		items = append(items, it)
	}
	return items
}

// encodeAll encodes the puts, moving the largest inline values into chunks
// until the multi request fits in cfg.MaxRequest.
func (s *Store) encodeAll(items []*item) error {
	size := 64 + len(s.fence) + 16
	var inline []*item
	for _, it := range items {
		size += len(it.path) + 48 // op header, version, ACL
		if it.del {
			continue
		}
		it.enc = s.codec.encode(it.value, false)
		size += len(it.enc.data())
		if it.enc.Pointer == nil {
			inline = append(inline, it)
		}
	}
	sort.Slice(inline, func(i, j int) bool { return len(inline[i].enc.Inline) > len(inline[j].enc.Inline) })
	for _, it := range inline {
		if size <= s.cfg.MaxRequest {
			break
		}
		size -= len(it.enc.Inline)
		it.enc = s.codec.encode(it.value, true)
		size += len(it.enc.Pointer)
	}
	if size > s.cfg.MaxRequest {
		return fmt.Errorf("%w: %d keys need ~%d bytes, limit %d", ErrBatchTooLarge, len(items), size, s.cfg.MaxRequest)
	}
	return nil
}

// dropBlobs deletes the chunks written for items (after a failed Apply).
func (s *Store) dropBlobs(items []*item) {
	for _, it := range items {
		if it.enc != nil && it.enc.Pointer != nil {
			s.deleteBlob(it.enc.ptr)
		}
	}
}

// current is what a key znode held when read.
type current struct {
	data    []byte
	version int32
	exists  bool
}

// commit reads the keys, builds the multi and sends it, re-reading after a
// version conflict. Transient errors are returned for the caller to retry.
func (s *Store) commit(items []*item) error {
	for range maxConflicts {
		if err := s.ensureShards(items); err != nil {
			return err
		}
		cur := make([]current, len(items))
		err := s.parallel(len(items), func(i int) error {
			data, st, err := s.conn.Get(items[i].path)
			if errors.Is(err, zk.ErrNoNode) {
				return nil
			}
			if err == nil {
				cur[i] = current{data: data, version: st.Version, exists: true}
			}
			return err
		})
		if err != nil {
			return err
		}
		ops, sent := s.buildOps(items, cur)
		if len(ops) == 0 {
			s.collect(items, cur, sent)
			return nil
		}
		if s.fence != "" {
			// First, so that a lost leadership is what the multi reports.
			ops = append([]any{&zk.CheckVersionRequest{Path: s.fence, Version: -1}}, ops...)
		}
		res, err := s.conn.Multi(ops...)
		switch {
		case err == nil:
			s.collect(items, cur, sent)
			return nil
		case transient(err):
			for i, it := range items {
				if sent[i] {
					it.prev = cur[i].data
				}
			}
			return err
		case s.fence != "" && fenceFailed(res):
			return ErrFenced
		case errors.Is(err, zk.ErrNoNode):
			s.forgetShards(items) // a shard znode was deleted behind our back
			continue
		case errors.Is(err, zk.ErrBadVersion), errors.Is(err, zk.ErrNodeExists):
			continue // another writer changed a key between our read and our multi
		default:
			return err
		}
	}
	return fmt.Errorf("zkstore: gave up after %d version conflicts", maxConflicts)
}

// fenceFailed reports whether the multi failed on its first op, the fence
// check.
func fenceFailed(res []zk.MultiResponse) bool {
	return len(res) > 0 && res[0].Error != nil
}

// forgetShards drops the items' shards from the cache of existing znodes.
func (s *Store) forgetShards(items []*item) {
	s.madeMu.Lock()
	defer s.madeMu.Unlock()
	for _, it := range items {
		delete(s.made, s.paths.shard(it.bucket, it.key))
	}
}

// buildOps turns items into multi ops against the versions read; sent[i]
// says whether item i has an op. A put of the value already stored and a
// delete of an absent key need none.
func (s *Store) buildOps(items []*item, cur []current) ([]any, []bool) {
	ops := make([]any, 0, len(items)+1)
	sent := make([]bool, len(items))
	for i, it := range items {
		c := cur[i]
		switch {
		case it.del && !c.exists:
		case it.del:
			ops = append(ops, &zk.DeleteRequest{Path: it.path, Version: c.version})
			sent[i] = true
		case c.exists && bytes.Equal(c.data, it.enc.data()):
		case c.exists:
			ops = append(ops, &zk.SetDataRequest{Path: it.path, Data: it.enc.data(), Version: c.version})
			sent[i] = true
		default:
			ops = append(ops, &zk.CreateRequest{Path: it.path, Data: it.enc.data(), Acl: zk.WorldACL(zk.PermAll)})
			sent[i] = true
		}
	}
	return ops, sent
}

// collect deletes the chunks of values the committed batch replaced: the
// ones read before this multi, and those replaced by an earlier multi of
// unknown outcome that turned out to have landed.
func (s *Store) collect(items []*item, cur []current, sent []bool) {
	for i, it := range items {
		old := it.prev
		if sent[i] {
			old = cur[i].data
		}
		if len(old) == 0 || old[0] != kindPointer {
			continue
		}
		if it.enc != nil && bytes.Equal(old, it.enc.data()) {
			continue
		}
		if p, err := unmarshalPointer(old); err == nil {
			s.deleteBlob(p)
		}
	}
}

// ensureShards creates the bucket and shard znodes the puts need; known
// ones are cached.
func (s *Store) ensureShards(items []*item) error {
	for _, it := range items {
		if it.del {
			continue
		}
		shard := s.paths.shard(it.bucket, it.key)
		s.madeMu.Lock()
		known := s.made[shard]
		s.madeMu.Unlock()
		if known {
			continue
		}
		if err := ensurePath(s.conn, shard); err != nil {
			return fmt.Errorf("create %s: %w", shard, err)
		}
		s.madeMu.Lock()
		s.made[shard] = true
		s.madeMu.Unlock()
	}
	return nil
}
