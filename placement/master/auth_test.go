package master

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

// servedMaster is a master run by Serve (the UI, the Chronos port and
// the real http.Server included) on free ports, logging into log.
type servedMaster struct {
	addr, chronos string
	log           *syncBuffer
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func serveMaster(t *testing.T, mod func(*ServerConfig)) *servedMaster {
	t.Helper()
	sm := &servedMaster{log: &syncBuffer{},
		addr:    net.JoinHostPort("127.0.0.1", itoa(testenv.FreePort(t))),
		chronos: net.JoinHostPort("127.0.0.1", itoa(testenv.FreePort(t)))}
	cfg := ServerConfig{Listen: sm.addr, WorkDir: t.TempDir(), ChronosListen: sm.chronos,
		Master: Config{Logger: slog.New(slog.NewTextHandler(sm.log, &slog.HandlerOptions{Level: slog.LevelDebug}))}}
	if mod != nil {
		mod(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan struct{})
	cfg.Ready = func(string) { close(ready) }
	go func() { done <- Serve(ctx, cfg) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("serve: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve returned %v", err)
		}
	})
	return sm
}

type authCall struct {
	method, url, user, pass, bearer string
}

// call makes one request and returns its status, body and headers; an
// event stream is read only up to its headers.
func (c authCall) do(t *testing.T) (int, string, http.Header) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, c.method, c.url, strings.NewReader(`{"id":"/x","cmd":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", c.method, c.url, err)
	}
	defer res.Body.Close()
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		return res.StatusCode, "", res.Header
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, string(body), res.Header
}

// TestEveryPublicPathNeedsCredentials names each HTTP surface of a
// master served with --http-credentials and --agent-secret: none answers
// without them, every one answers with them.
func TestEveryPublicPathNeedsCredentials(t *testing.T) {
	sm := serveMaster(t, func(c *ServerConfig) { c.Master.Credentials = "admin:pw"; c.Master.AgentSecret = "agent-pw" })
	base, chronos := "http://"+sm.addr, "http://"+sm.chronos
	paths := []struct{ method, url string }{
		{"GET", base + "/v2/apps"}, {"POST", base + "/v2/apps"}, {"GET", base + "/v2/apps/x"},
		{"GET", base + "/v2/tasks"}, {"GET", base + "/v2/tasks/x.1/logs"}, {"GET", base + "/v2/info"},
		{"GET", base + "/v2/leader"}, {"GET", base + "/v2/groups"}, {"GET", base + "/v2/deployments"},
		{"GET", base + "/v2/queue"}, {"GET", base + "/v2/events"}, {"GET", base + "/v2/eventSubscriptions"},
		{"GET", base + "/metrics"}, {"GET", base + "/master/state"}, {"GET", base + "/master/slaves"},
		{"GET", base + "/scheduler/jobs"}, {"GET", base + "/v1/scheduler/jobs"}, {"GET", chronos + "/scheduler/jobs"},
		{"GET", base + "/"}, {"GET", base + "/ui"}, {"GET", base + "/ui/"}, {"GET", base + "/ui/apps"},
		{"GET", base + "/ui/agents"}, {"GET", base + "/ui/routes"}, {"GET", base + "/ui/static/ui.css"},
	}
	for _, p := range paths {
		if code, body, _ := (authCall{method: p.method, url: p.url}).do(t); code != http.StatusUnauthorized {
			t.Errorf("%s %s without credentials: %d %.200s, want 401", p.method, p.url, code, body)
		}
		if code, _, _ := (authCall{method: p.method, url: p.url, user: "admin", pass: "nope"}).do(t); code != http.StatusUnauthorized {
			t.Errorf("%s %s with a wrong password: %d, want 401", p.method, p.url, code)
		}
		if code, body, _ := (authCall{method: p.method, url: p.url, user: "admin", pass: "pw"}).do(t); code == http.StatusUnauthorized {
			t.Errorf("%s %s with the credentials: 401 %.200s", p.method, p.url, body)
		}
	}
	agentAPI := []struct{ method, url string }{
		{"POST", base + "/internal/v1/agents"}, {"GET", base + "/internal/v1/agents/a1/desired"},
		{"POST", base + "/internal/v1/agents/a1/status"},
	}
	for _, p := range agentAPI {
		for _, c := range []authCall{{method: p.method, url: p.url}, {method: p.method, url: p.url, bearer: "wrong"},
			{method: p.method, url: p.url, user: "admin", pass: "pw"}} {
			if code, _, _ := c.do(t); code != http.StatusUnauthorized {
				t.Errorf("%s %s without the agent secret: %d, want 401", p.method, p.url, code)
			}
		}
		if code, body, _ := (authCall{method: p.method, url: p.url, bearer: "agent-pw"}).do(t); code == http.StatusUnauthorized {
			t.Errorf("%s %s with the agent secret: 401 %s", p.method, p.url, body)
		}
	}
}

// TestMetricsOpen: --metrics-open serves /metrics without credentials
// and nothing else.
func TestMetricsOpen(t *testing.T) {
	sm := serveMaster(t, func(c *ServerConfig) { c.Master.Credentials = "admin:pw"; c.Master.MetricsOpen = true })
	base := "http://" + sm.addr
	if code, body, _ := (authCall{method: "GET", url: base + "/metrics"}).do(t); code != http.StatusOK || !strings.Contains(body, "# TYPE") {
		t.Fatalf("/metrics with --metrics-open, no credentials: %d %.200s", code, body)
	}
	for _, path := range []string{"/v2/apps", "/v2/info", "/ui/", "/metricsx"} {
		if code, _, _ := (authCall{method: "GET", url: base + path}).do(t); code != http.StatusUnauthorized {
			t.Errorf("%s with --metrics-open, no credentials: %d, want 401", path, code)
		}
	}
}

// TestNoSecretLeaks: the HTTP credentials and the agent secret appear in
// neither the log, /v2/info, nor the answers to failing requests.
func TestNoSecretLeaks(t *testing.T) {
	const pass, secret = "Pa55-w0rd-XYZ", "agent-S3cret-QRS"
	sm := serveMaster(t, func(c *ServerConfig) { c.Master.Credentials = "admin:" + pass; c.Master.AgentSecret = secret })
	base := "http://" + sm.addr
	calls := []authCall{
		{method: "GET", url: base + "/v2/info", user: "admin", pass: pass},
		{method: "GET", url: base + "/v2/apps", user: "admin", pass: pass + "x"},
		{method: "GET", url: base + "/v2/apps", user: "admin"},
		{method: "GET", url: base + "/v2/tasks/nope.1/logs", user: "admin", pass: pass},
		{method: "POST", url: base + "/v2/apps/Bad..ID", user: "admin", pass: pass},
		{method: "GET", url: base + "/scheduler/job/nope", user: "admin", pass: pass},
		{method: "POST", url: base + "/internal/v1/agents", bearer: secret + "x"},
		{method: "POST", url: base + "/internal/v1/agents", bearer: secret},
		{method: "GET", url: base + "/internal/v1/agents/nope/desired", bearer: secret},
		{method: "GET", url: base + "/ui/apps/nope", user: "admin", pass: pass},
	}
	var bodies strings.Builder
	for _, c := range calls {
		code, body, hdr := c.do(t)
		bodies.WriteString(body)
		for k, v := range hdr {
			bodies.WriteString(k + ": " + strings.Join(v, ",") + "\n")
		}
		if c.url == base+"/v2/info" && code != http.StatusOK {
			t.Fatalf("/v2/info with the credentials: %d %s", code, body)
		}
	}
	for what, text := range map[string]string{"log": sm.log.String(), "answers": bodies.String()} {
		for _, s := range []string{pass, secret} {
			if strings.Contains(text, s) {
				t.Errorf("the %s contain the secret %q:\n%s", what, s, text)
			}
		}
	}
	if !strings.Contains(sm.log.String(), "master: serving") {
		t.Fatalf("the log was not captured:\n%s", sm.log.String())
	}
}

// TestUIRoutesCredentials: the console's routes page reads lbsync's
// status port with --lbsync-credentials.
func TestUIRoutesCredentials(t *testing.T) {
	var mu sync.Mutex
	var got []string
	lb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		mu.Lock()
		got = append(got, u+":"+p)
		mu.Unlock()
		if u != "ops" || p != "lb-pw" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, `{}`)
	}))
	defer lb.Close()
	sm := serveMaster(t, func(c *ServerConfig) { c.UIRoutesURL = lb.URL; c.UIRoutesCredentials = "ops:lb-pw" })
	code, body, _ := (authCall{method: "GET", url: "http://" + sm.addr + "/ui/routes"}).do(t)
	mu.Lock()
	defer mu.Unlock()
	if code != http.StatusOK || len(got) != 1 || got[0] != "ops:lb-pw" || strings.Contains(body, "401") {
		t.Fatalf("/ui/routes: %d, lbsync saw %q:\n%.400s", code, got, body)
	}
}
