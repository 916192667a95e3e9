package master

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// tlsReadyServer is an HTTPS server with httptest's self-signed
// certificate; while slow is set, /ready answers only after the client
// gave up.
type tlsReadyServer struct {
	port int
	slow atomic.Bool
}

func startTLSReadyServer(t *testing.T, tlsOn bool) *tlsReadyServer {
	t.Helper()
	s := &tlsReadyServer{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.slow.Load() {
			<-r.Context().Done() // the prober's timeoutSeconds closes the connection
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ready"))
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // "client sent an HTTP request to an HTTPS server"
	if tlsOn {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	s.port = srv.Listener.Addr().(*net.TCPAddr).Port
	return s
}

func readinessOf(t *testing.T, h *harness) map[string]any {
	t.Helper()
	d := firstDeployment(t, h)
	res, _ := d["currentActions"].([]any)[0].(map[string]any)["readinessCheckResults"].([]any)
	if len(res) != 1 {
		t.Fatalf("readinessCheckResults = %v", d)
	}
	return res[0].(map[string]any)
}

// TestReadinessHTTPSSelfSigned: an HTTPS readiness check against a
// server with a self-signed certificate passes, as in Marathon, whose
// readiness executor uses the health checks' trust-all SSL context (no
// certificate or host name verification).
func TestReadinessHTTPSSelfSigned(t *testing.T) {
	h := newHarness(t, nil)
	srv := startTLSReadyServer(t, true)
	a := h.portAgent("a1", srv.port)
	h.must(201, "POST", "/v2/apps", `{"id":"/tls","cmd":"serve","cpus":0.1,"mem":16,
		"portDefinitions":[{"port":0,"name":"https"}],
		"readinessChecks":[{"protocol":"HTTPS","path":"/ready","portName":"https","intervalSeconds":2,"timeoutSeconds":1,"preserveLastResponse":true}]}`)
	h.converge(a)
	h.probe()
	h.converge(a)
	if n := h.deploymentCount(); n != 0 {
		t.Fatalf("deployment still waits for the HTTPS readiness check: %v", readinessOf(t, h))
	}
	app := h.must(200, "GET", "/v2/apps/tls?embed=app.readiness", "").json(t)["app"].(map[string]any)
	r := app["readinessCheckResults"].([]any)[0].(map[string]any)
	if r["ready"] != true || r["lastResponse"].(map[string]any)["body"] != "ready" {
		t.Fatalf("readinessCheckResults = %v", r)
	}
}

// TestReadinessTimeout: an endpoint slower than timeoutSeconds counts as
// not ready — the probe gives up after timeoutSeconds, the deployment
// waits and the kept lastResponse is Marathon's 504 "could not query";
// once the endpoint answers in time the next due probe makes it ready.
// A plain-HTTP probe of an HTTPS port is not ready either.
func TestReadinessTimeout(t *testing.T) {
	h := newHarness(t, nil)
	srv := startTLSReadyServer(t, false)
	srv.slow.Store(true)
	a := h.portAgent("a1", srv.port)
	h.must(201, "POST", "/v2/apps", `{"id":"/slow","cmd":"serve","cpus":0.1,"mem":16,
		"portDefinitions":[{"port":0,"name":"http"}],
		"readinessChecks":[{"path":"/ready","portName":"http","intervalSeconds":3,"timeoutSeconds":1,"preserveLastResponse":true}]}`)
	h.converge(a)
	t0 := time.Now()
	h.probe()
	took := time.Since(t0)
	h.converge(a)
	if took < time.Second || took > 5*time.Second {
		t.Errorf("probe of a hanging endpoint took %s, want about timeoutSeconds (1s)", took)
	}
	if h.deploymentCount() != 1 {
		t.Fatal("deployment finished although the readiness endpoint never answered in time")
	}
	r := readinessOf(t, h)
	resp, _ := r["lastResponse"].(map[string]any)
	if r["ready"] != false || resp["status"] != 504.0 || resp["contentType"] != "text/plain" ||
		!strings.Contains(resp["body"].(string), "could not query http://127.0.0.1:") {
		t.Fatalf("readiness result after a timeout: %v", r)
	}
	srv.slow.Store(false)
	h.clock.Advance(3 * time.Second)
	h.probe()
	h.converge(a)
	if n := h.deploymentCount(); n != 0 {
		t.Fatalf("deployment still running after the endpoint answered in time: %v", readinessOf(t, h))
	}
}

// TestReadinessHTTPAgainstTLS: an HTTP check of a port that speaks TLS
// gets 400 from Go's TLS server and is not ready.
func TestReadinessHTTPAgainstTLS(t *testing.T) {
	h := newHarness(t, nil)
	srv := startTLSReadyServer(t, true)
	a := h.portAgent("a1", srv.port)
	h.must(201, "POST", "/v2/apps", `{"id":"/mix","cmd":"serve","cpus":0.1,"mem":16,
		"portDefinitions":[{"port":0,"name":"http"}],
		"readinessChecks":[{"path":"/ready","portName":"http","intervalSeconds":2,"timeoutSeconds":1,"preserveLastResponse":true}]}`)
	h.converge(a)
	h.probe()
	h.converge(a)
	if r := readinessOf(t, h); r["ready"] != false || r["lastResponse"].(map[string]any)["status"] != 400.0 {
		t.Fatalf("HTTP check of a TLS port: %v", r)
	}
}
