package lbsync

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"text/template"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/lbsync/haproxy"
)

// harness is a real Consul, an HAProxy managed by lbsync, and a running
// Syncer.
type harness struct {
	t          testing.TB
	consul     *testenv.Consul
	dir        string
	proc       *haproxy.Process
	syncer     *Syncer
	httpPort   int
	statsPort  int
	statusAddr string
	extra      []Target
}

type harnessOpts struct {
	haproxyTemplate  *template.Template // default: the embedded one
	waitMin, waitMax time.Duration      // default 50ms:1s
	extraTargets     func(h *harness) []Target
	templates        func(h *harness) *TemplateRunner
	probePorts       bool // HAProxyTargetConfig.PortFree = ProbePort
	// source wraps the Consul source (e.g. WithMaster); clusterID is
	// Rules.ClusterID.
	source    func(h *harness, consul Source) Source
	clusterID string
}

func startHarness(t testing.TB, opts harnessOpts) *harness {
	t.Helper()
	bin := testenv.HAProxyBinary(t)
	h := &harness{t: t, consul: testenv.StartConsul(t), dir: t.TempDir(),
		httpPort: testenv.FreePort(t), statsPort: testenv.FreePort(t)}
	h.statusAddr = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	cfgPath := filepath.Join(h.dir, "haproxy.cfg")
	settings := HAProxySettings{StatsSocket: filepath.Join(h.dir, "haproxy.sock"),
		StateFile: filepath.Join(h.dir, "haproxy.state"), StatsPort: h.statsPort, BindAddr: "127.0.0.1"}
	logOut := io.Discard
	if testing.Verbose() {
		logOut = os.Stderr
	}
	logger := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h.proc = haproxy.New(haproxy.Config{Binary: bin, ConfigPath: cfgPath,
		MasterSocket: filepath.Join(h.dir, "master.sock"), StatsSocket: settings.StatsSocket, Output: logOut, Logger: logger})
	t.Cleanup(func() {
		if err := h.proc.Stop(10 * time.Second); err != nil {
			t.Errorf("stop haproxy: %v", err)
		}
	})
	var portFree func(int) error
	if opts.probePorts {
		portFree = func(p int) error { return ProbePort("127.0.0.1", p) }
	}
	targets := []Target{NewHAProxyTarget(HAProxyTargetConfig{HAProxy: h.proc, ConfigPath: cfgPath, Settings: settings,
		Logger: logger, Template: opts.haproxyTemplate, PortFree: portFree})}
	if opts.extraTargets != nil {
		targets = append(targets, opts.extraTargets(h)...)
	}
	var runner *TemplateRunner
	if opts.templates != nil {
		runner = opts.templates(h)
	}
	var err error
	var src Source = NewConsulSource(ConsulSourceConfig{Client: h.consul.Client, Address: h.consul.HTTPAddr, Tag: "berth",
		Logger: logger})
	if opts.source != nil {
		src = opts.source(h, src)
	}
	h.syncer, err = New(Config{
		Source:  src,
		Rules:   Rules{HTTPPort: h.httpPort, ReservedPorts: []int{h.statsPort}, ClusterID: opts.clusterID},
		Targets: targets, Templates: runner, Listen: h.statusAddr, Logger: logger,
		WaitMin: opts.waitMin, WaitMax: opts.waitMax,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.syncer.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("syncer: %v", err)
		}
	})
	return h
}

// backend is an HTTP server answering its name.
type backend struct {
	*httptest.Server
	name string
	hits atomic.Int64
}

func newBackend(t testing.TB, name string) *backend {
	b := &backend{name: name}
	b.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		io.WriteString(w, name)
	}))
	// Listen on a port testenv.FreePort handed out, so it can never be
	// one that FreePort gives this test for a servicePort or the HTTP
	// port (the kernel may hand a just-probed port to an ":0" listener).
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)))
	if err != nil {
		t.Fatalf("backend %s: %v", name, err)
	}
	b.Listener.Close()
	b.Listener = ln
	b.Start()
	t.Cleanup(b.Close)
	return b
}

func (b *backend) port() int {
	p, _ := strconv.Atoi(b.URL[strings.LastIndexByte(b.URL, ':')+1:])
	return p
}

// register puts b into Consul as an instance of app on servicePort sp,
// with a passing TTL check "<id>:ttl" and extra meta (key, value pairs).
func (h *harness) register(app string, sp int, b *backend, kv ...string) string {
	h.t.Helper()
	id := fmt.Sprintf("node:berth-%s:%d", sanitizeName(strings.TrimPrefix(app, "/")), b.port())
	meta := map[string]string{MetaApp: app, MetaTask: id, MetaPortIndex: "0", MetaServicePort: strconv.Itoa(sp),
		MetaVersion: "2026-01-01T00:00:00.000Z"}
	for i := 0; i+1 < len(kv); i += 2 {
		meta[kv[i]] = kv[i+1]
	}
	err := h.consul.Client.Agent().ServiceRegister(&api.AgentServiceRegistration{
		ID: id, Name: sanitizeName(strings.TrimPrefix(app, "/")), Tags: []string{"berth"},
		Address: "127.0.0.1", Port: b.port(), Meta: meta,
		Check: &api.AgentServiceCheck{CheckID: id + ":ttl", TTL: "10m", Status: api.HealthPassing},
	})
	if err != nil {
		h.t.Fatalf("register %s: %v", id, err)
	}
	return id
}

func (h *harness) deregister(id string) {
	h.t.Helper()
	if err := h.consul.Client.Agent().ServiceDeregister(id); err != nil {
		h.t.Fatalf("deregister %s: %v", id, err)
	}
}

// get fetches http://127.0.0.1:port/ with the Host header host ("" = none).
func get(client *http.Client, port int, host string) (int, string, error) {
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/", port), nil)
	if host != "" {
		req.Host = host
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// seen collects the bodies of n requests.
func seen(port int, host string, n int) (map[string]int, error) {
	got := map[string]int{}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for range n {
		code, body, err := get(client, port, host)
		if err != nil {
			return got, err
		}
		if code != 200 {
			return got, fmt.Errorf("status %d: %q", code, body)
		}
		got[body]++
	}
	return got, nil
}

// expectSet waits until n requests reach exactly the backends want.
func (h *harness) expectSet(port int, host string, want ...string) {
	h.t.Helper()
	testenv.WaitFor(h.t, 15*time.Second, fmt.Sprintf("port %d host %q served by %v", port, host, want), func() error {
		got, err := seen(port, host, 4*len(want)+4)
		if err != nil {
			return err
		}
		for _, w := range want {
			if got[w] == 0 {
				return fmt.Errorf("served by %v", got)
			}
		}
		if len(got) != len(want) {
			return fmt.Errorf("served by %v", got)
		}
		return nil
	})
}

// lastAction is the newest HAProxy event's action.
func (h *harness) lastAction() string {
	e, _ := h.syncer.LastEvent("haproxy")
	return e.Action
}
