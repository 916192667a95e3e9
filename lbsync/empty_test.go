package lbsync

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

// expectStatus waits until port (with Host host) answers code and a body
// containing body.
func (h *harness) expectStatus(port int, host string, code int, body string) {
	h.t.Helper()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	testenv.WaitFor(h.t, 15*time.Second, fmt.Sprintf("port %d host %q answers %d", port, host, code), func() error {
		got, b, err := get(client, port, host)
		if err != nil {
			return err
		}
		if got != code || !strings.Contains(b, body) {
			return fmt.Errorf("%d %q", got, b)
		}
		return nil
	})
}

// tcpClosedAtOnce: a connection to port is accepted and then closed by
// HAProxy within a second (not refused, not left hanging).
func tcpClosedAtOnce(port int) error {
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 2*time.Second)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Second))
	start := time.Now()
	_, err = conn.Read(make([]byte, 1))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("connection still open after %s", time.Since(start).Round(time.Millisecond))
	}
	if err == nil {
		return errors.New("read data from an empty backend")
	}
	if !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "reset") {
		return err
	}
	return nil
}

// TestEmptyBackends: an HTTP servicePort and vhost whose last instance is
// gone answer 503; a TCP one accepts and closes at once; a failing
// instance is not routed and named in /routes; scaling back to 1 brings
// the route back without a reload.
func TestEmptyBackends(t *testing.T) {
	h := startHarness(t, harnessOpts{})
	web, db := testenv.FreePort(t), testenv.FreePort(t)
	idWeb := h.register("/web", web, newBackend(t, "web-1"), "HAPROXY_0_VHOST", "web.test", "HAPROXY_0_MODE", "http")
	idDB := h.register("/db", db, newBackend(t, "db-1"))
	h.expectSet(web, "", "web-1")
	h.expectSet(h.httpPort, "web.test", "web-1")
	h.expectSet(db, "", "db-1")

	h.deregister(idWeb)
	h.deregister(idDB)
	h.expectStatus(web, "", 503, "No server is available")
	h.expectStatus(h.httpPort, "web.test", 503, "No server is available")
	testenv.WaitFor(t, 10*time.Second, "tcp servicePort closes at once", func() error { return tcpClosedAtOnce(db) })

	reloads := h.reloads()
	id2 := h.register("/web", web, newBackend(t, "web-2"), "HAPROXY_0_VHOST", "web.test", "HAPROXY_0_MODE", "http")
	h.expectSet(web, "", "web-2")
	h.expectSet(h.httpPort, "web.test", "web-2")
	if got := h.reloads(); got != reloads {
		t.Errorf("scaling 0 → 1 reloaded HAProxy (%v → %v reloads)", reloads, got)
	}

	// A failing check: the instance stays in Consul, is not routed, and
	// /routes says why.
	if err := h.consul.Client.Agent().UpdateTTL(id2+":ttl", "boom", "fail"); err != nil {
		t.Fatal(err)
	}
	h.expectStatus(web, "", 503, "No server is available")
	testenv.WaitFor(t, 10*time.Second, "/routes names the unhealthy backend", func() error {
		for _, s := range h.syncer.Status().Services {
			if s.ServicePort == web && len(s.Excluded) == 1 && s.Excluded[0].Kind == ExcludedUnhealthy &&
				strings.Contains(s.Excluded[0].Reason, "boom") {
				return nil
			}
		}
		return fmt.Errorf("status %+v", h.syncer.Status().Services)
	})
}
