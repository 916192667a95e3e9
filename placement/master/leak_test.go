package master

import (
	"context"
	"runtime"
	"testing"
	"weak"

	"github.com/berth-platform/berth/placement/store"
)

// TestMasterIsCollected guards against package-level references that
// would keep a master (and all its state) alive after use.
func TestMasterIsCollected(t *testing.T) {
	st, err := store.OpenBolt(store.BoltConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var wp weak.Pointer[Master]
	func() {
		m, err := New(context.Background(), Config{Store: st})
		if err != nil {
			t.Fatal(err)
		}
		_ = m.Handler()
		m.reconcile(true)
		wp = weak.Make(m)
	}()
	for i := 0; i < 5 && wp.Value() != nil; i++ {
		runtime.GC()
	}
	if wp.Value() != nil {
		t.Fatal("master still reachable after use")
	}
}
