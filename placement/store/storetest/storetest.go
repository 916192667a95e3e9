package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/berth-platform/berth/placement/store"
)

// Opener opens the store under test. Each call after the first must reopen
// the same underlying data (the previous store has been closed), so the
// suite can check durability.
type Opener func() (store.Store, error)

// Factory returns a fresh, empty store location for one subtest.
type Factory func(t *testing.T) Opener

// Run runs the whole suite.
func Run(t *testing.T, newStore Factory) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open Opener)
	}{
		{"GetMissing", testGetMissing},
		{"PutGetOverwrite", testPutGet},
		{"ListPrefixSorted", testList},
		{"ApplyIsAtomic", testAtomic},
		{"DeleteMissingIsFine", testDeleteMissing},
		{"OddKeys", testOddKeys},
		{"LargeValue", testLarge},
		{"Concurrent", testConcurrent},
		{"SurvivesReopen", testReopen},
		{"ValuesAreCopies", testCopies},
		{"ClusterIDCreatedOnce", testClusterID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newStore(t))
		})
	}
}

func open(t *testing.T, o Opener) store.Store {
	t.Helper()
	s, err := o()
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func mustGet(t *testing.T, s store.Store, bucket, key string, want string) {
	t.Helper()
	got, err := s.Get(context.Background(), bucket, key)
	if err != nil {
		t.Fatalf("Get(%s, %s): %v", bucket, key, err)
	}
	if string(got) != want {
		t.Fatalf("Get(%s, %s) = %q, want %q", bucket, key, got, want)
	}
}

func testGetMissing(t *testing.T, o Opener) {
	s := open(t, o)
	ctx := context.Background()
	if _, err := s.Get(ctx, "apps", "/nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing bucket: err = %v, want ErrNotFound", err)
	}
	if err := s.Apply(ctx, store.Put("apps", "/a", []byte("1"))); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "apps", "/nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing key: err = %v, want ErrNotFound", err)
	}
	kvs, err := s.List(ctx, "nothing-here", "")
	if err != nil || len(kvs) != 0 {
		t.Fatalf("List of missing bucket = %v, %v; want empty", kvs, err)
	}
}

func testPutGet(t *testing.T, o Opener) {
	s := open(t, o)
	ctx := context.Background()
	if err := s.Apply(ctx, store.Put("apps", "/a", []byte("one"))); err != nil {
		t.Fatal(err)
	}
	mustGet(t, s, "apps", "/a", "one")
	if err := s.Apply(ctx, store.Put("apps", "/a", []byte("two"))); err != nil {
		t.Fatal(err)
	}
	mustGet(t, s, "apps", "/a", "two")
	if err := s.Apply(ctx, store.Put("tasks", "/a", []byte("other bucket"))); err != nil {
		t.Fatal(err)
	}
	mustGet(t, s, "apps", "/a", "two")
	if err := s.Apply(ctx, store.Del("apps", "/a")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "apps", "/a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after delete: err = %v", err)
	}
	if err := s.Apply(ctx, store.Put("apps", "/empty", []byte{})); err != nil {
		t.Fatal(err)
	}
	mustGet(t, s, "apps", "/empty", "")
}

func testList(t *testing.T, o Opener) {
	s := open(t, o)
	ctx := context.Background()
	keys := []string{"/b/2", "/a/1", "/b/10", "/b", "/c"}
	var ops []store.Op
	for _, k := range keys {
		ops = append(ops, store.Put("versions", k, []byte("v"+k)))
	}
	if err := s.Apply(ctx, ops...); err != nil {
		t.Fatal(err)
	}
	kvs, err := s.List(ctx, "versions", "/b/")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, kv := range kvs {
		got = append(got, kv.Key+"="+string(kv.Value))
	}
	if want := "/b/10=v/b/10,/b/2=v/b/2"; strings.Join(got, ",") != want {
		t.Fatalf("List(/b/) = %v, want %s", got, want)
	}
	all, err := s.List(ctx, "versions", "")
	if err != nil || len(all) != len(keys) || all[0].Key != "/a/1" || all[4].Key != "/c" {
		t.Fatalf("List all = %v, %v", all, err)
	}
}

func testAtomic(t *testing.T, o Opener) {
	s := open(t, o)
	ctx := context.Background()
	if err := s.Apply(ctx, store.Put("apps", "/a", []byte("a")), store.Put("tasks", "t1", []byte("t"))); err != nil {
		t.Fatal(err)
	}
	// An invalid op makes the whole batch fail and change nothing.
	err := s.Apply(ctx, store.Del("apps", "/a"), store.Put("tasks", "", []byte("bad key")))
	if err == nil {
		t.Fatal("Apply with an empty key succeeded")
	}
	mustGet(t, s, "apps", "/a", "a")
	if err := s.Apply(ctx, store.Del("apps", "/a"), store.Put("tasks", "t1", []byte("t2")), store.Put("deployments", "d", []byte("d"))); err != nil {
		t.Fatal(err)
	}
	mustGet(t, s, "tasks", "t1", "t2")
	mustGet(t, s, "deployments", "d", "d")
}

func testDeleteMissing(t *testing.T, o Opener) {
	s := open(t, o)
	if err := s.Apply(context.Background(), store.Del("apps", "/never")); err != nil {
		t.Fatalf("delete missing: %v", err)
	}
}

func testOddKeys(t *testing.T, o Opener) {
	s := open(t, o)
	ctx := context.Background()
	keys := []string{"/prod/shop/web", "shop_web.6f1c-uuid", "/a\x01b", "with space", "ü/ñ", ".", ".."}
	for _, k := range keys {
		if err := s.Apply(ctx, store.Put("odd", k, []byte(k))); err != nil {
			t.Fatalf("put %q: %v", k, err)
		}
	}
	for _, k := range keys {
		mustGet(t, s, "odd", k, k)
	}
	kvs, err := s.List(ctx, "odd", "/prod/")
	if err != nil || len(kvs) != 1 {
		t.Fatalf("List(/prod/) = %v, %v", kvs, err)
	}
}

func testLarge(t *testing.T, o Opener) {
	s := open(t, o)
	big := bytes.Repeat([]byte("0123456789abcdef"), 32*1024) // 512 KiB
	if err := s.Apply(context.Background(), store.Put("apps", "/big", big)); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(context.Background(), "apps", "/big")
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("large value round trip failed: %v (len %d)", err, len(got))
	}
}

func testConcurrent(t *testing.T, o Opener) {
	s := open(t, o)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				k := fmt.Sprintf("w%d-%02d", w, i)
				if err := s.Apply(ctx, store.Put("tasks", k, []byte(k))); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	kvs, err := s.List(ctx, "tasks", "w")
	if err != nil || len(kvs) != 200 {
		t.Fatalf("after concurrent puts: %d entries, %v; want 200", len(kvs), err)
	}
}

func testReopen(t *testing.T, o Opener) {
	s, err := o()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Apply(ctx, store.Put("apps", "/a", []byte("kept")), store.Put("apps", "/gone", []byte("x"))); err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(ctx, store.Del("apps", "/gone")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := open(t, o)
	mustGet(t, s2, "apps", "/a", "kept")
	if _, err := s2.Get(ctx, "apps", "/gone"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted key came back: %v", err)
	}
}

func testCopies(t *testing.T, o Opener) {
	s := open(t, o)
	ctx := context.Background()
	val := []byte("abc")
	if err := s.Apply(ctx, store.Put("apps", "/a", val)); err != nil {
		t.Fatal(err)
	}
	val[0] = 'X'
	got, _ := s.Get(ctx, "apps", "/a")
	got[1] = 'Y'
	mustGet(t, s, "apps", "/a", "abc")
}

// testClusterID: the master's cluster id (bucket "cluster", key "id") is
// absent from a fresh store (ErrNotFound, so the first master creates it),
// and once written it is read back unchanged after a reopen, so a second
// start (or the next ZooKeeper leader) keeps the same identity instead of
// creating another one.
func testClusterID(t *testing.T, o Opener) {
	ctx := context.Background()
	s, err := o()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "cluster", "id"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("fresh store: cluster id lookup: %v, want ErrNotFound", err)
	}
	const id = "6f1c2a9e-3b7d-4e21-9a55-0c8d2e4f7b13"
	if err := s.Apply(ctx, store.Put("cluster", "id", []byte(id))); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		s2, err := o()
		if err != nil {
			t.Fatal(err)
		}
		mustGet(t, s2, "cluster", "id", id)
		if keys, err := s2.List(ctx, "cluster", ""); err != nil || len(keys) != 1 {
			t.Fatalf("reopen %d: cluster bucket holds %v (%v), want exactly the id", i+1, keys, err)
		}
		if err := s2.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
