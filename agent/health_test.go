package agent

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/agent/agenttest"
	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/internal/wire"
)

func TestCheckStateGraceAndCounting(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := &checkState{graceUntil: t0.Add(10 * time.Second)}
	fail := errors.New("connection refused")
	steps := []struct {
		at       time.Duration
		err      error
		alive    bool
		failures int
	}{
		{0, fail, false, 0},                // in grace: not counted
		{5 * time.Second, fail, false, 0},  // still in grace
		{10 * time.Second, fail, false, 1}, // grace over
		{11 * time.Second, nil, true, 0},   // healthy resets
		{12 * time.Second, fail, false, 1},
		{13 * time.Second, fail, false, 2},
	}
	for i, st := range steps {
		s.record(t0.Add(st.at), st.err)
		if s.res.Alive != st.alive || s.res.ConsecutiveFailures != st.failures {
			t.Fatalf("step %d: alive %t failures %d, want %t %d", i, s.res.Alive, s.res.ConsecutiveFailures, st.alive, st.failures)
		}
	}
	if s.res.FirstSuccess == "" || s.res.LastFailureCause != "connection refused" {
		t.Errorf("result %+v", s.res)
	}
	// Healthy once ends the grace period early.
	s2 := &checkState{graceUntil: t0.Add(time.Hour)}
	s2.record(t0, nil)
	s2.record(t0.Add(time.Second), fail)
	if s2.res.ConsecutiveFailures != 1 {
		t.Errorf("failure after first success in grace not counted: %+v", s2.res)
	}
}

func TestHealthCheckDefaults(t *testing.T) {
	got := HealthCheckDefaults(wire.HealthCheck{GracePeriodSeconds: -1})
	want := wire.HealthCheck{Protocol: "HTTP", Path: "/", IntervalSeconds: 60, TimeoutSeconds: 20, GracePeriodSeconds: 300}
	if got != want {
		t.Errorf("defaults %+v, want %+v", got, want)
	}
	if tcp := HealthCheckDefaults(wire.HealthCheck{Protocol: "tcp"}); tcp.Protocol != "TCP" || tcp.Path != "" {
		t.Errorf("tcp %+v", tcp)
	}
	if m := HealthCheckDefaults(wire.HealthCheck{Protocol: "MESOS_HTTP"}); m.Path != "/" {
		t.Errorf("MESOS_HTTP %+v", m)
	}
}

func TestHealthProtocolsAgainstServers(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "/elsewhere", http.StatusFound) // 3xx counts as healthy
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer ok.Close()
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) }))
	defer bad.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer tlsSrv.Close()
	port := func(s *httptest.Server) int { return s.Listener.Addr().(*net.TCPAddr).Port }
	closed := testenv.FreePort(t)

	f := newFakeRuntime()
	m := agenttest.NewMaster(t)
	h := startAgent(t, m, t.TempDir(), harnessOpts{runtimes: fakeRuntimes(f)})
	spec := processSpec("hc.1", "x")
	hc := func(proto, path string, p int) wire.HealthCheck {
		return wire.HealthCheck{Protocol: proto, Path: path, Port: p, IntervalSeconds: 1, TimeoutSeconds: 1, MaxConsecutiveFailures: 3}
	}
	spec.HealthChecks = []wire.HealthCheck{
		hc("HTTP", "/redirect", port(ok)), hc("HTTP", "/", port(bad)), hc("HTTPS", "/", port(tlsSrv)),
		hc("TCP", "", port(ok)), hc("MESOS_TCP", "", closed),
	}
	m.SetDesired(h.a.ID(), []wire.TaskSpec{spec})
	want := []bool{true, false, true, true, false}
	testenv.WaitFor(t, 10*time.Second, "health verdicts", func() error {
		last, _ := m.Last(spec.TaskID)
		if len(last.Health) != len(want) {
			return fmt.Errorf("health %+v", last.Health)
		}
		for i, w := range want {
			if last.Health[i].Alive != w || (!w && last.Health[i].ConsecutiveFailures == 0) {
				return fmt.Errorf("check %d: %+v, want alive=%t", i, last.Health[i], w)
			}
		}
		if !strings.Contains(last.Health[1].LastFailureCause, "status 500") {
			return fmt.Errorf("cause %q", last.Health[1].LastFailureCause)
		}
		return nil
	})
}
