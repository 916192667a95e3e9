package lbsync

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

func (h *harness) reloads() float64 {
	return counter(h.t, h.syncer, "berth_lbsync_reloads_total", "target", "haproxy", "result", "ok")
}

func (h *harness) runtimeUpdates() float64 {
	return counter(h.t, h.syncer, "berth_lbsync_runtime_updates_total", "result", "ok")
}

// counter reads a counter with the given label pairs from s's registry.
func counter(t testing.TB, s *Syncer, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := s.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func TestHAProxyFollowsConsul(t *testing.T) {
	h := startHarness(t, harnessOpts{})
	web := testenv.FreePort(t)
	a, b, c := newBackend(t, "web-a"), newBackend(t, "web-b"), newBackend(t, "web-c")
	home := newBackend(t, "home")
	idA := h.register("/shop/web", web, a, "HAPROXY_0_VHOST", "web.example.test")
	idB := h.register("/shop/web", web, b, "HAPROXY_0_VHOST", "web.example.test")
	h.register("/home", h.httpPort, home)

	// Reachable through the servicePort and through the HTTP port by Host;
	// the app on the HTTP port is the default backend.
	h.expectSet(web, "", "web-a", "web-b")
	h.expectSet(h.httpPort, "web.example.test", "web-a", "web-b")
	h.expectSet(h.httpPort, "WEB.example.test:1234", "web-a", "web-b")
	h.expectSet(h.httpPort, "other.example.test", "home")

	// Scale up: a new backend arrives through the Runtime API, no reload.
	// (Counters are updated after traffic moves: wait for the pass that
	// produced what we saw to be recorded before reading them.)
	h.waitBackends(web, 2)
	testenv.WaitFor(t, 10*time.Second, "home recorded as the default backend", func() error {
		if st := h.syncer.Status(); st.Default == "" {
			return fmt.Errorf("no default in %+v", st)
		}
		return nil
	})
	reloads, runtime := h.reloads(), h.runtimeUpdates()
	idC := h.register("/shop/web", web, c, "HAPROXY_0_VHOST", "web.example.test")
	h.expectSet(web, "", "web-a", "web-b", "web-c")
	// Scale down.
	h.deregister(idA)
	h.expectSet(web, "", "web-b", "web-c")
	// (Traffic moves before the pass is counted: wait for the counter.)
	testenv.WaitFor(t, 5*time.Second, "2 runtime updates counted", func() error {
		if got := h.runtimeUpdates(); got < runtime+2 {
			return fmt.Errorf("runtime updates %v, want >= %v", got, runtime+2)
		}
		return nil
	})
	if got := h.reloads(); got != reloads {
		t.Errorf("membership changes caused %v reloads", got-reloads)
	}

	// A failing check removes the backend.
	if err := h.consul.Client.Agent().FailTTL(idB+":ttl", "test says no"); err != nil {
		t.Fatal(err)
	}
	h.expectSet(web, "", "web-c")
	h.expectSet(h.httpPort, "web.example.test", "web-c")
	if err := h.consul.Client.Agent().PassTTL(idB+":ttl", ""); err != nil {
		t.Fatal(err)
	}
	h.expectSet(web, "", "web-b", "web-c")

	// A new servicePort needs a reload, and the running ones keep serving.
	api2 := testenv.FreePort(t)
	h.register("/api", api2, newBackend(t, "api"), "HAPROXY_0_MODE", "http")
	h.expectSet(api2, "", "api")
	h.expectSet(web, "", "web-b", "web-c")
	testenv.WaitFor(t, 5*time.Second, "a reload counted", func() error {
		if h.reloads() <= reloads {
			return fmt.Errorf("a new servicePort did not reload HAProxy")
		}
		return nil
	})
	// The reload started from the saved server state, which had the
	// runtime-filled slots.
	state, err := os.ReadFile(filepath.Join(h.dir, "haproxy.state"))
	if err != nil || !strings.Contains(string(state), fmt.Sprintf("shop_web_%d", web)) || !strings.Contains(string(state), fmt.Sprint(c.port())) {
		t.Errorf("server state file (%v):\n%s", err, state)
	}

	// Many backends at once: beyond the slots, a reload grows them.
	var want []string
	for i := range 12 {
		be := newBackend(t, fmt.Sprintf("many-%02d", i))
		h.register("/shop/web", web, be, "HAPROXY_0_VHOST", "web.example.test")
		want = append(want, be.name)
	}
	h.deregister(idB)
	h.deregister(idC)
	h.expectSet(web, "", want...)
	h.waitBackends(web, 12)

	// Status and metrics.
	st := fetchStatus(t, h.statusAddr)
	if st.LastRender.IsZero() || len(st.Services) != 3 || len(st.Routes) != 1 || st.Default != "home_"+fmt.Sprint(h.httpPort) {
		t.Errorf("status = %+v", st)
	}
	metrics := fetch(t, "http://"+h.statusAddr+"/metrics")
	for _, m := range []string{"berth_lbsync_reloads_total", "berth_lbsync_runtime_updates_total", "berth_lbsync_renders_total", "berth_lbsync_backends 14"} {
		if !strings.Contains(metrics, m) {
			t.Errorf("metrics lack %q", m)
		}
	}
}

// TestValidationFailureKeepsLiveConfig: a render haproxy -c refuses never
// replaces the running config; the error shows in /routes and metrics; the
// servicePort that breaks it is held back while the others keep updating.
func TestValidationFailureKeepsLiveConfig(t *testing.T) {
	h := startHarness(t, harnessOpts{})
	good := testenv.FreePort(t)
	h.register("/good", good, newBackend(t, "good"))
	h.expectSet(good, "", "good")
	live, err := os.ReadFile(filepath.Join(h.dir, "haproxy.cfg"))
	if err != nil {
		t.Fatal(err)
	}

	// A syntactically fine certificate path that does not exist: only
	// haproxy -c can tell.
	bad := testenv.FreePort(t)
	h.register("/bad", bad, newBackend(t, "bad"), "HAPROXY_0_SSL_CERT", "/nonexistent/berth-test.pem")
	testenv.WaitFor(t, 15*time.Second, "validation failure reported", func() error {
		st := fetchStatus(t, h.statusAddr)
		if !strings.Contains(st.LastError, "failed validation") || !strings.Contains(st.LastError, "berth-test.pem") {
			return fmt.Errorf("last error %q", st.LastError)
		}
		return nil
	})
	now, _ := os.ReadFile(filepath.Join(h.dir, "haproxy.cfg"))
	if string(now) != string(live) {
		t.Error("the live config changed although validation failed")
	}
	// The broken app is held back; the others keep following Consul.
	h.register("/good", good, newBackend(t, "good-2"))
	h.expectSet(good, "", "good", "good-2")
	// A new servicePort needs a reload: it still happens, without /bad.
	other := testenv.FreePort(t)
	h.register("/other", other, newBackend(t, "other"))
	h.expectSet(other, "", "other")
	if v := counter(t, h.syncer, "berth_lbsync_validation_failures_total", "target", "haproxy"); v < 1 {
		t.Errorf("validation failures metric = %v", v)
	}
	if _, err := seen(bad, "", 1); err == nil {
		t.Error("the held-back servicePort is served")
	}
	testenv.WaitFor(t, 10*time.Second, "the held-back port named in /routes", func() error {
		if st := fetchStatus(t, h.statusAddr); !strings.Contains(st.LastError, fmt.Sprintf("[%d] held back", bad)) {
			return fmt.Errorf("last error %q", st.LastError)
		}
		return nil
	})
}

// waitBackends waits until the last recorded pass has n backends on sp.
func (h *harness) waitBackends(sp, n int) {
	h.t.Helper()
	testenv.WaitFor(h.t, 10*time.Second, fmt.Sprintf("%d backends on %d recorded", n, sp), func() error {
		for _, s := range h.syncer.Status().Services {
			if s.ServicePort == sp && len(s.Backends) == n {
				return nil
			}
		}
		return fmt.Errorf("status: %+v", h.syncer.Status().Services)
	})
}

// waitGone waits until the last recorded pass has no backend on port.
func (h *harness) waitGone(sp, port int) {
	h.t.Helper()
	testenv.WaitFor(h.t, 10*time.Second, fmt.Sprintf("backend :%d of %d gone", port, sp), func() error {
		for _, s := range h.syncer.Status().Services {
			if s.ServicePort != sp {
				continue
			}
			for _, b := range s.Backends {
				if b.Port == port {
					return fmt.Errorf("still routed")
				}
			}
		}
		return nil
	})
}

func fetch(t testing.TB, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func fetchStatus(t testing.TB, addr string) Status {
	t.Helper()
	var st Status
	if err := json.Unmarshal([]byte(fetch(t, "http://"+addr+"/routes")), &st); err != nil {
		t.Fatal(err)
	}
	return st
}
