package zkstore_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/placement/store"
	"github.com/berth-platform/berth/placement/zkstore"
)

// TestRandomBatchesMatchModel applies random batches (puts of values from
// empty to many chunks, deletes, repeated keys in one batch) and compares
// the store with a map after every batch; at the end no chunk may be left
// that no value references.
func TestRandomBatchesMatchModel(t *testing.T) {
	z := testenv.StartZooKeeper(t)
	root := newRoot("model")
	s := openStore(t, z.Addr, root, func(c *zkstore.Config) { c.ChunkSize, c.CompressAbove, c.MaxRequest = 256, 64, 16<<10 })
	ctx := context.Background()
	r := rand.New(rand.NewPCG(42, 7))
	model := map[string][]byte{}
	keys := []string{"/a", "/a/b", "/b", ".", "x y", "ü", "/c\x01", "/d", "/e", "/f"}
	for batch := range 150 {
		var ops []store.Op
		for range 1 + r.IntN(6) {
			k := keys[r.IntN(len(keys))]
			if r.IntN(4) == 0 {
				ops = append(ops, store.Del("b", k))
				continue
			}
			size := []int{0, 10, 200, 1000, 3000}[r.IntN(5)]
			v := make([]byte, size)
			for i := range v {
				v[i] = byte(r.IntN(4)) + 'a' // compressible, not trivially
			}
			ops = append(ops, store.Put("b", k, v))
		}
		if err := s.Apply(ctx, ops...); err != nil {
			t.Fatalf("batch %d: %v", batch, err)
		}
		for _, op := range ops {
			if op.Delete {
				delete(model, op.Key)
			} else {
				model[op.Key] = op.Value
			}
		}
		kvs, err := s.List(ctx, "b", "")
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for k := range model {
			want = append(want, k)
		}
		sort.Strings(want)
		if len(kvs) != len(want) {
			t.Fatalf("batch %d: %d keys, want %d", batch, len(kvs), len(want))
		}
		for i, kv := range kvs {
			if kv.Key != want[i] || !bytes.Equal(kv.Value, model[kv.Key]) {
				t.Fatalf("batch %d: entry %d = %q (%d bytes), want %q (%d bytes)", batch, i, kv.Key, len(kv.Value), want[i], len(model[want[i]]))
			}
		}
	}
	// Every remaining chunk belongs to a live value: a sweep without grace
	// finds nothing to delete.
	n := countChunks(t, z.Addr, root)
	if deleted, err := s.Sweep(ctx, 1); err != nil || deleted != 0 {
		t.Fatalf("sweep found %d orphan chunks (of %d), %v", deleted, n, err)
	}
}
