package lbsync

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

// checkedBackend answers its name, and /health with 200 or, once failing
// is set, 500.
func checkedBackend(t *testing.T, name string, failing *atomic.Bool) *backend {
	b := &backend{name: name}
	b.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			if failing.Load() {
				w.WriteHeader(http.StatusInternalServerError)
			}
			return
		}
		b.hits.Add(1)
		io.WriteString(w, name)
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(testenv.FreePort(t)))
	if err != nil {
		t.Fatal(err)
	}
	b.Listener.Close()
	b.Listener = ln
	b.Start()
	t.Cleanup(b.Close)
	return b
}

// TestHealthCheckTakesBackendOut: the app's Marathon health check is
// HAProxy's own check, so an instance whose /health fails leaves the
// rotation within two check intervals while Consul still says passing,
// and comes back when it recovers; a new instance filled in through the
// Runtime API serves at once.
func TestHealthCheckTakesBackendOut(t *testing.T) {
	h := startHarness(t, harnessOpts{})
	sp := testenv.FreePort(t)
	const interval = time.Second
	check := []string{MetaCheckProtocol, "HTTP", MetaCheckPath, "/health", MetaCheckInterval, "1",
		MetaCheckTimeout, "1", MetaCheckMaxFailures, "2"}
	var aFail, bFail, cFail atomic.Bool
	h.register("/web", sp, checkedBackend(t, "a", &aFail), check...)
	h.register("/web", sp, checkedBackend(t, "b", &bFail), check...)
	h.expectSet(sp, "", "a", "b")

	bFail.Store(true)
	start := time.Now()
	testenv.WaitFor(t, 2*interval+1500*time.Millisecond, "b out of rotation within two intervals (+ polling slack)", func() error {
		got, err := seen(sp, "", 6)
		if err != nil {
			return err
		}
		if got["b"] > 0 {
			return fmt.Errorf("served by %v", got)
		}
		return nil
	})
	// A new server starts with the least health that counts as up, so
	// its first failed check can already take it out; later, after
	// passing checks, it takes Fall failures.
	t.Logf("b out after %s", time.Since(start).Round(10*time.Millisecond))
	entries, _, err := h.consul.Client.Health().Service("web", "", true, nil)
	if err != nil || len(entries) != 2 {
		t.Fatalf("Consul was expected to still report both as passing: %d entries, %v", len(entries), err)
	}
	// /routes (berth routes) shows HAProxy's own view next to Consul's.
	testenv.WaitFor(t, 5*time.Second, "/routes shows b DOWN in HAProxy", func() error {
		lb := map[string]string{}
		for _, svc := range fetchStatus(t, h.statusAddr).Services {
			for _, be := range svc.Backends {
				lb[be.ID] = be.Health + "/" + be.LB
			}
		}
		if len(lb) != 2 || !slices.Contains(slices.Collect(maps.Values(lb)), "passing/DOWN") ||
			!slices.Contains(slices.Collect(maps.Values(lb)), "passing/UP") {
			raw, _ := h.proc.ServersState(context.Background())
			return fmt.Errorf("backends %v\n%s", lb, raw)
		}
		return nil
	})
	bFail.Store(false)
	h.expectSet(sp, "", "a", "b")

	h.register("/web", sp, checkedBackend(t, "c", &cFail), check...)
	h.expectSet(sp, "", "a", "b", "c")
}
