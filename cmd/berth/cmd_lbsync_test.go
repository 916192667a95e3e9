package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/berth-platform/berth/internal/testenv"
)

func TestLBSyncFlags(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
		check   func(*lbsyncFlags) error
	}{
		{args: nil, check: func(f *lbsyncFlags) error {
			if f.waitMin != 50*time.Millisecond || f.waitMax != time.Second || f.httpPort != 80 || f.group != "external" {
				return fmt.Errorf("defaults %+v", f)
			}
			if f.haproxyConfig != filepath.Join("berth-data", "lbsync", "haproxy.cfg") {
				return fmt.Errorf("config path %q", f.haproxyConfig)
			}
			return nil
		}},
		{args: []string{"--wait", "2s"}, check: func(f *lbsyncFlags) error {
			if f.waitMax != 8*time.Second {
				return fmt.Errorf("max = %s, want 4 × min", f.waitMax)
			}
			return nil
		}},
		{args: []string{"--nginx-template", "a.ctmpl:b.conf", "--nginx-template", "c:d:systemctl reload nginx"}, check: func(f *lbsyncFlags) error {
			if len(f.templateSpecs) != 2 || f.templateSpecs[1].Reload != "systemctl reload nginx" {
				return fmt.Errorf("specs %+v", f.templateSpecs)
			}
			return nil
		}},
		{args: []string{"--haproxy-config", "/srv/lb/haproxy.cfg", "--haproxy-socket", "/run/lb/admin.sock"}, check: func(f *lbsyncFlags) error {
			// The work-dir bug: these defaulted into ./berth-data/lbsync.
			if f.masterSocket != "/run/lb/haproxy-master.sock" || f.stateFile != "/srv/lb/haproxy.state" {
				return fmt.Errorf("master socket %q, state file %q", f.masterSocket, f.stateFile)
			}
			return nil
		}},
		{args: []string{"--wait", "1s:10ms"}, wantErr: "min <= max"},
		{args: []string{"--nginx-template", "nodest"}, wantErr: "want in.ctmpl:out.conf"},
		{args: []string{"--haproxy-socket", "/tmp/a b.sock"}, wantErr: "no whitespace"},
		{args: []string{"extra"}, wantErr: "unexpected arguments"},
	}
	for _, tt := range tests {
		f, err := parseLBSyncFlags(tt.args, io.Discard)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%v: err %v, want %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v: %v", tt.args, err)
			continue
		}
		if err := tt.check(f); err != nil {
			t.Errorf("%v: %v", tt.args, err)
		}
	}
}

// TestLBSyncAndRoutes runs `berth lbsync` in-process against a real Consul
// and HAProxy, then `berth routes` against its status port.
func TestLBSyncAndRoutes(t *testing.T) {
	bin := testenv.HAProxyBinary(t)
	consul := testenv.StartConsul(t)
	dir := t.TempDir()
	// The backend first: an ":0" listener may get a port FreePort just
	// probed, so take the FreePorts while it holds its own.
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hello") }))
	defer backend.Close()
	httpPort, statsPort, sp := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
	status := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	port, _ := strconv.Atoi(backend.URL[strings.LastIndexByte(backend.URL, ':')+1:])
	err := consul.Client.Agent().ServiceRegister(&api.AgentServiceRegistration{
		ID: "n1:berth-hello:1", Name: "hello", Tags: []string{"berth"}, Address: "127.0.0.1", Port: port,
		Meta:  map[string]string{"berth_app": "/hello", "berth_service_port": strconv.Itoa(sp), "berth_port_index": "0", "HAPROXY_0_VHOST": "hello.test"},
		Check: &api.AgentServiceCheck{TTL: "10m", Status: api.HealthPassing},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	var stderr bytes.Buffer
	go func() {
		done <- runLBSync(ctx, []string{"--consul", consul.HTTPAddr, "--work-dir", dir, "--haproxy-binary", bin,
			"--http-port", strconv.Itoa(httpPort), "--haproxy-stats-port", strconv.Itoa(statsPort), "--bind", "127.0.0.1",
			"--listen", status}, io.Discard, &stderr)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("lbsync exited %d: %s", code, stderr.String())
		}
	}()
	testenv.WaitFor(t, 20*time.Second, "hello through the HTTP port", func() error {
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/", httpPort), nil)
		req.Host = "hello.test"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if string(b) != "hello" {
			return fmt.Errorf("%d %q", resp.StatusCode, b)
		}
		return nil
	})
	// HAProxy serves before lbsync has recorded the pass: poll.
	var out, errb bytes.Buffer
	testenv.WaitFor(t, 10*time.Second, "berth routes shows the route", func() error {
		out.Reset()
		if code := runRoutes(context.Background(), []string{"--lbsync", status}, &out, &errb); code != 0 {
			return fmt.Errorf("routes exited %d: %s", code, errb.String())
		}
		for _, want := range []string{"hello_" + strconv.Itoa(sp), "hello.test", fmt.Sprintf("127.0.0.1:%d", port), "haproxy: start"} {
			if !strings.Contains(out.String(), want) {
				return fmt.Errorf("routes output lacks %q:\n%s", want, out.String())
			}
		}
		return nil
	})
	out.Reset()
	if code := runRoutes(context.Background(), []string{"--lbsync", status, "--json"}, &out, &errb); code != 0 || !strings.Contains(out.String(), `"servicePort": `+strconv.Itoa(sp)) {
		t.Errorf("routes --json (%d):\n%s", code, out.String())
	}
	// The Consul source named in /routes is the --consul given.
	if !strings.Contains(out.String(), `"address": "`+consul.HTTPAddr+`"`) {
		t.Errorf("routes --json does not name Consul %s:\n%s", consul.HTTPAddr, out.String())
	}
}

// TestLBSyncByHand: `berth lbsync --haproxy-config X --haproxy-socket Y`
// with no --work-dir, in directories that do not exist yet (HAProxy used to
// fail with "Can't create the master's CLI"). The other flags only keep
// the test off the machine's real ports and Consul.
func TestLBSyncByHand(t *testing.T) {
	bin := testenv.HAProxyBinary(t)
	consul := testenv.StartConsul(t)
	dir := t.TempDir()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "by hand") }))
	defer backend.Close()
	httpPort, statsPort, sp := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
	port, _ := strconv.Atoi(backend.URL[strings.LastIndexByte(backend.URL, ':')+1:])
	if err := consul.Client.Agent().ServiceRegister(&api.AgentServiceRegistration{
		ID: "n1:berth-hand:1", Name: "hand", Tags: []string{"berth"}, Address: "127.0.0.1", Port: port,
		Meta:  map[string]string{"berth_app": "/hand", "berth_service_port": strconv.Itoa(sp), "berth_port_index": "0"},
		Check: &api.AgentServiceCheck{TTL: "10m", Status: api.HealthPassing},
	}); err != nil {
		t.Fatal(err)
	}
	cfg, sock := filepath.Join(dir, "etc", "haproxy.cfg"), filepath.Join(dir, "run", "haproxy.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	var stderr syncWriter
	go func() {
		done <- runLBSync(ctx, []string{"--haproxy-config", cfg, "--haproxy-socket", sock,
			"--consul", consul.HTTPAddr, "--haproxy-binary", bin, "--bind", "127.0.0.1", "--listen", "",
			"--http-port", strconv.Itoa(httpPort), "--haproxy-stats-port", strconv.Itoa(statsPort)}, io.Discard, &stderr)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("lbsync exited %d: %s", code, stderr.String())
		}
	}()
	testenv.WaitFor(t, 20*time.Second, "the servicePort serves", func() error {
		select {
		case code := <-done:
			done <- code
			return fmt.Errorf("lbsync exited %d: %s", code, stderr.String())
		default:
		}
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", sp))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if b, _ := io.ReadAll(resp.Body); string(b) != "by hand" {
			return fmt.Errorf("%d %q", resp.StatusCode, b)
		}
		return nil
	})
	for _, p := range []string{filepath.Join(dir, "run", "haproxy-master.sock"), filepath.Join(dir, "etc", "haproxy.state")} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%v", err)
		}
	}
}

// TestLBSyncRefusesBusyPort: another process on the HTTP port or the stats
// port makes lbsync exit at once, naming the port and its flag, instead of
// sharing it via SO_REUSEPORT.
func TestLBSyncRefusesBusyPort(t *testing.T) {
	// A servicePort another process listens on is not refused but held
	// back while the rest is applied (lbsync's TestBusyServicePortIsHeldBack):
	// only lbsync's own ports make it refuse to start, since HAProxy binds
	// with SO_REUSEPORT and would silently share them.
	for _, flag := range []string{"--http-port", "--haproxy-stats-port"} {
		t.Run(flag, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(testenv.FreePort(t)))
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			busy := ln.Addr().(*net.TCPAddr).Port
			ports := map[string]int{"--http-port": testenv.FreePort(t), "--haproxy-stats-port": testenv.FreePort(t)}
			ports[flag] = busy
			var stderr syncWriter
			// Bounded: an lbsync that does not refuse would run until cancelled.
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			code := runLBSync(ctx, []string{"--work-dir", t.TempDir(), "--consul", "127.0.0.1:1", "--listen", "",
				"--http-port", strconv.Itoa(ports["--http-port"]), "--haproxy-stats-port", strconv.Itoa(ports["--haproxy-stats-port"])},
				io.Discard, &stderr)
			want := fmt.Sprintf("port %d (%s) is already in use by another process", busy, flag)
			if code != 1 || !strings.Contains(stderr.String(), want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr.String(), want)
			}
		})
	}
}

type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
