package zkstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/placement/store"
	"github.com/berth-platform/berth/placement/store/storetest"
	"github.com/berth-platform/berth/placement/zkstore"
)

var roots atomic.Int64

// newRoot returns a root znode path no other test uses.
func newRoot(name string) string {
	return fmt.Sprintf("/t%d-%s", roots.Add(1), strings.NewReplacer("/", "-", " ", "-").Replace(name))
}

func openStore(t testing.TB, zkAddr, root string, mod func(*zkstore.Config)) *zkstore.Store {
	t.Helper()
	cfg := zkstore.Config{Servers: []string{zkAddr}, Root: root, SessionTimeout: 4 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := zkstore.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	z := testenv.StartZooKeeper(t)
	storetest.Run(t, func(t *testing.T) storetest.Opener {
		root := newRoot(t.Name())
		return func() (store.Store, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			return zkstore.Open(ctx, zkstore.Config{Servers: []string{z.Addr}, Root: root})
		}
	})
	// The same suite with tiny thresholds, so every value of the suite goes
	// through compression and chunking.
	t.Run("TinyChunks", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) storetest.Opener {
			root := newRoot(t.Name())
			return func() (store.Store, error) {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				return zkstore.Open(ctx, zkstore.Config{Servers: []string{z.Addr}, Root: root,
					CompressAbove: 1, ChunkSize: 2, MaxRequest: 8 << 10})
			}
		})
	})
}

// randomBytes are incompressible.
func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func countChunks(t *testing.T, zkAddr, root string) int {
	t.Helper()
	conn, _, err := zk.Connect([]string{zkAddr}, 4*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	kids, _, err := conn.Children(root + "/store/blobs")
	if err != nil {
		t.Fatalf("list blobs: %v", err)
	}
	return len(kids)
}

// TestBigValuesAndHistory writes values far above ZooKeeper's 1 MiB limit,
// a batch whose values add up to several MiB, and a long version history,
// and checks that replaced values leave no chunks behind.
func TestBigValuesAndHistory(t *testing.T) {
	z := testenv.StartZooKeeper(t)
	root := newRoot("big")
	s := openStore(t, z.Addr, root, nil)
	ctx := context.Background()

	big := randomBytes(1, 5<<20)                                              // 5 MiB, incompressible
	json := bytes.Repeat([]byte(`{"id":"/shop/web","instances":3},`), 200000) // ~6.6 MiB, compressible
	if err := s.Apply(ctx, store.Put("apps", "/big", big), store.Put("apps", "/json", json),
		store.Put("versions", "/big 1", []byte("v1"))); err != nil {
		t.Fatalf("apply big: %v", err)
	}
	for k, want := range map[string][]byte{"/big": big, "/json": json} {
		got, err := s.Get(ctx, "apps", k)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("get %s: %v (len %d, want %d)", k, err, len(got), len(want))
		}
	}
	// A batch of many medium values: their sum exceeds one multi request.
	var ops []store.Op
	for i := range 30 {
		ops = append(ops, store.Put("versions", fmt.Sprintf("/big %03d", i), randomBytes(uint64(i+10), 100<<10)))
	}
	if err := s.Apply(ctx, ops...); err != nil {
		t.Fatalf("apply 30 × 100 KiB: %v", err)
	}
	kvs, err := s.List(ctx, "versions", "/big ")
	if err != nil || len(kvs) != 31 {
		t.Fatalf("list versions: %d, %v", len(kvs), err)
	}
	for i, kv := range kvs[:30] {
		if !bytes.Equal(kv.Value, randomBytes(uint64(i+10), 100<<10)) {
			t.Fatalf("version %s differs", kv.Key)
		}
	}
	// Replacing and deleting chunked values collects their chunks.
	if err := s.Apply(ctx, store.Put("apps", "/big", []byte("small now")), store.Del("apps", "/json")); err != nil {
		t.Fatal(err)
	}
	var dels []store.Op
	for _, kv := range kvs {
		dels = append(dels, store.Del("versions", kv.Key))
	}
	if err := s.Apply(ctx, dels...); err != nil {
		t.Fatal(err)
	}
	if n := countChunks(t, z.Addr, root); n != 0 {
		t.Fatalf("%d chunks left after replacing and deleting every chunked value", n)
	}
	// A long version history: 500 versions of a 20 KiB app, 50 kept.
	app := bytes.Repeat([]byte(`{"id":"/h","cmd":"sleep 1000","env":{"A":"b"}}`), 450)
	for v := range 500 {
		ops := []store.Op{store.Put("apps", "/h", app), store.Put("versions", fmt.Sprintf("/h %04d", v), app)}
		if v >= 50 {
			ops = append(ops, store.Del("versions", fmt.Sprintf("/h %04d", v-50)))
		}
		if err := s.Apply(ctx, ops...); err != nil {
			t.Fatalf("version %d: %v", v, err)
		}
	}
	kvs, err = s.List(ctx, "versions", "/h ")
	if err != nil || len(kvs) != 50 || kvs[0].Key != "/h 0450" || !bytes.Equal(kvs[49].Value, app) {
		t.Fatalf("history: %d entries, %v", len(kvs), err)
	}
}

func TestBatchTooLarge(t *testing.T) {
	z := testenv.StartZooKeeper(t)
	s := openStore(t, z.Addr, newRoot("toolarge"), func(c *zkstore.Config) { c.MaxRequest, c.ChunkSize = 64<<10, 32<<10 })
	var ops []store.Op
	for i := range 2000 {
		ops = append(ops, store.Put("tasks", fmt.Sprintf("task-%05d-with-a-long-name", i), []byte("x")))
	}
	err := s.Apply(context.Background(), ops...)
	if !errors.Is(err, zkstore.ErrBatchTooLarge) {
		t.Fatalf("err = %v, want ErrBatchTooLarge", err)
	}
	if kvs, _ := s.List(context.Background(), "tasks", ""); len(kvs) != 0 {
		t.Fatalf("a refused batch wrote %d keys", len(kvs))
	}
}

// TestFenced: a fenced view writes while the fence znode exists and never
// after it is gone; nothing of the refused batch is visible.
func TestFenced(t *testing.T) {
	z := testenv.StartZooKeeper(t)
	root := newRoot("fence")
	s := openStore(t, z.Addr, root, nil)
	conn, _, err := zk.Connect([]string{z.Addr}, 2*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fence, err := conn.Create(root+"/leader", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll))
	if err != nil {
		t.Fatal(err)
	}
	f := s.Fenced(fence)
	ctx := context.Background()
	if err := f.Apply(ctx, store.Put("apps", "/a", []byte("1"))); err != nil {
		t.Fatalf("fenced apply while leader: %v", err)
	}
	conn.Close() // the leader's session ends: its ephemeral znode goes
	testenv.WaitFor(t, 10*time.Second, "fence znode gone", func() error {
		if _, err := s.Get(ctx, "apps", "/a"); err != nil {
			return err
		}
		err := f.Apply(ctx, store.Put("apps", "/a", []byte("2")), store.Put("apps", "/b", []byte("x")))
		if errors.Is(err, zkstore.ErrFenced) {
			return nil
		}
		return fmt.Errorf("apply after fence loss: %v", err)
	})
	got, _ := s.Get(ctx, "apps", "/a")
	if string(got) != "1" {
		t.Fatalf("a fenced-off write landed: /a = %q", got)
	}
	if _, err := s.Get(ctx, "apps", "/b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a fenced-off write landed: /b: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "apps", "/a"); err != nil {
		t.Fatalf("closing the fenced view closed the store: %v", err)
	}
}

// TestSurvivesZooKeeperRestart: writes issued while the server is down
// succeed once it is back within RetryFor; data written before is kept.
func TestSurvivesZooKeeperRestart(t *testing.T) {
	z := testenv.StartZooKeeper(t)
	s := openStore(t, z.Addr, newRoot("restart"), func(c *zkstore.Config) { c.RetryFor = 60 * time.Second })
	ctx := context.Background()
	if err := s.Apply(ctx, store.Put("apps", "/before", []byte("1"))); err != nil {
		t.Fatal(err)
	}
	z.Stop()
	done := make(chan error, 1)
	go func() { done <- s.Apply(ctx, store.Put("apps", "/during", []byte("2"))) }()
	z.Start()
	if err := <-done; err != nil {
		t.Fatalf("apply across a restart: %v", err)
	}
	for k, want := range map[string]string{"/before": "1", "/during": "2"} {
		got, err := s.Get(ctx, "apps", k)
		if err != nil || string(got) != want {
			t.Fatalf("get %s = %q, %v", k, got, err)
		}
	}
}

func TestSweep(t *testing.T) {
	z := testenv.StartZooKeeper(t)
	root := newRoot("sweep")
	s := openStore(t, z.Addr, root, nil)
	ctx := context.Background()
	if err := s.Apply(ctx, store.Put("apps", "/big", randomBytes(7, 1<<20))); err != nil {
		t.Fatal(err)
	}
	conn, _, err := zk.Connect([]string{z.Addr}, 4*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// An orphan, as left by a master killed between chunks and commit.
	if _, err := conn.Create(root+"/store/blobs/0123456789abcdef01234567-0", []byte("junk"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	before := countChunks(t, z.Addr, root)
	if n, err := s.Sweep(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("sweep with a long grace deleted %d, %v", n, err)
	}
	testenv.WaitFor(t, 5*time.Second, "orphan older than the grace", func() error {
		n, err := s.Sweep(ctx, time.Millisecond)
		if err != nil || n != 1 {
			return fmt.Errorf("sweep deleted %d, %v; want 1", n, err)
		}
		return nil
	})
	if after := countChunks(t, z.Addr, root); after != before-1 {
		t.Fatalf("chunks %d → %d", before, after)
	}
	if got, err := s.Get(ctx, "apps", "/big"); err != nil || len(got) != 1<<20 {
		t.Fatalf("sweep damaged a live value: %v", err)
	}
}

// TestConcurrentWritersShareKeys: two stores on one root overwrite the same
// chunked keys at once. Version conflicts are retried, every value read is
// one that was written whole, and no chunk outlives its value.
func TestConcurrentWritersShareKeys(t *testing.T) {
	z := testenv.StartZooKeeper(t)
	root := newRoot("shared")
	small := func(c *zkstore.Config) { c.ChunkSize, c.CompressAbove = 64, 1<<20 }
	stores := []*zkstore.Store{openStore(t, z.Addr, root, small), openStore(t, z.Addr, root, small)}
	ctx := context.Background()
	value := func(w, i int) []byte { return bytes.Repeat(fmt.Appendf(nil, "w%d-i%03d;", w, i), 40) }
	errs := make(chan error, 4)
	for w := range 4 {
		go func() {
			s := stores[w%2]
			for i := range 40 {
				if err := s.Apply(ctx, store.Put("apps", "/a", value(w, i)), store.Put("apps", "/b", value(w, i))); err != nil {
					errs <- err
					return
				}
				got, err := s.Get(ctx, "apps", "/a")
				if err != nil || len(got) != len(value(w, i)) || !bytes.Equal(got, bytes.Repeat(got[:len(got)/40], 40)) {
					errs <- fmt.Errorf("read a torn or missing value: %q, %v", got, err)
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	a, _ := stores[0].Get(ctx, "apps", "/a")
	b, _ := stores[1].Get(ctx, "apps", "/b")
	if !bytes.Equal(a, b) {
		t.Fatalf("one batch's keys differ at the end: /a=%.12q… /b=%.12q…", a, b)
	}
	want := 2 * ((len(a) + 63) / 64)
	if n := countChunks(t, z.Addr, root); n != want {
		t.Fatalf("%d chunks for two live values of %d chunks each", n, want/2)
	}
}
