package haproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

func TestParseShowProc(t *testing.T) {
	out := `#<PID>          <type>          <reloads>       <uptime>        <version>
11779           master          2 [failed: 1]   0d00h10m18s     2.6.12-1+deb12u4
# workers
7637            worker          1               0d00h00m02s     2.6.12-1+deb12u4
# old workers
7000            worker          3               0d00h01m02s     2.6.12-1+deb12u4
# programs
`
	p, err := parseShowProc(out)
	if err != nil {
		t.Fatal(err)
	}
	if p.Reloads != 2 || p.Failed != 1 || len(p.Workers) != 1 || p.Workers[0] != 7637 || p.MasterPID != 11779 ||
		p.Version != "2.6.12-1+deb12u4" {
		t.Errorf("parsed %+v", p)
	}
	if _, err := parseShowProc("Unknown command\n"); err == nil {
		t.Error("garbage parsed without error")
	}
}

func config(dir string, port, backendPort int, extra string) string {
	return fmt.Sprintf(`global
    master-worker
    stats socket %[1]s/admin.sock mode 600 level admin expose-fd listeners
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:%[2]d
    default_backend be
backend be
    server s1 127.0.0.1:%[3]d
    server-template s 2-3 127.0.0.1:1 disabled
%[4]s`, dir, port, backendPort, extra)
}

func TestProcessLifecycle(t *testing.T) {
	bin := testenv.HAProxyBinary(t)
	dir := t.TempDir()
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "a") }))
	defer a.Close()
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "b") }))
	defer b.Close()
	port := testenv.FreePort(t)
	cfgPath := filepath.Join(dir, "haproxy.cfg")
	os.WriteFile(cfgPath, []byte(config(dir, port, portOf(a.URL), "")), 0o644)

	p := New(Config{Binary: bin, ConfigPath: cfgPath, MasterSocket: filepath.Join(dir, "master.sock"),
		StatsSocket: filepath.Join(dir, "admin.sock"), Output: io.Discard})
	ctx := context.Background()
	if err := p.Validate(ctx, cfgPath); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.cfg")
	os.WriteFile(bad, []byte(config(dir, port, 1, "    bogus directive\n")), 0o644)
	if err := p.Validate(ctx, bad); err == nil {
		t.Error("invalid config validated")
	}
	if started, err := p.Start(ctx); err != nil || !started {
		t.Fatalf("start: %v, %v", started, err)
	}
	if started, err := p.Start(ctx); err != nil || started {
		t.Fatalf("second start: %v, %v", started, err)
	}
	defer p.Stop(5 * time.Second)
	if !p.Owned() {
		t.Error("not owned after Start")
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	testenv.WaitFor(t, 5*time.Second, "a through haproxy", func() error { return expect(url, "a") })

	// Runtime API: swap s1 for b without a reload.
	err := p.Runtime(ctx, []string{
		fmt.Sprintf("set server be/s2 addr 127.0.0.1 port %d", portOf(b.URL)),
		"set server be/s2 state ready",
		"set server be/s1 state maint",
	})
	if err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 5*time.Second, "b through haproxy", func() error { return expect(url, "b") })
	if err := p.Runtime(ctx, []string{"set server be/nope state ready"}); err == nil {
		t.Error("runtime command on a missing server succeeded")
	}
	state, err := p.ServersState(ctx)
	if err != nil || !strings.Contains(string(state), " be ") {
		t.Fatalf("servers state %q, %v", state, err)
	}

	// Seamless reload, confirmed.
	os.WriteFile(cfgPath, []byte(config(dir, port, portOf(a.URL), "")), 0o644)
	if err := p.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 5*time.Second, "a after reload", func() error { return expect(url, "a") })
	if info, ok := p.Info(); !ok || info.MasterPID != p.cmd.Process.Pid || info.Workers != 1 || info.Reloads != 1 ||
		info.Failed != 0 || !strings.HasPrefix(info.Version, "2.") {
		t.Errorf("info after a reload %+v %v (master pid %d)", info, ok, p.cmd.Process.Pid)
	}

	// A reload of a broken file is reported, and the old workers keep serving.
	os.WriteFile(cfgPath, []byte(config(dir, port, 1, "    bogus directive\n")), 0o644)
	if err := p.Reload(ctx); !errors.Is(err, ErrReloadFailed) {
		t.Fatalf("reload of a broken config: %v", err)
	}
	if err := expect(url, "a"); err != nil {
		t.Fatalf("old workers stopped serving: %v", err)
	}
	if err := p.Stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if p.Running(ctx) {
		t.Error("still running after Stop")
	}
}

func portOf(u string) int {
	var port int
	fmt.Sscanf(u[strings.LastIndexByte(u, ':')+1:], "%d", &port)
	return port
}

func expect(url, want string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != want {
		return fmt.Errorf("%s: %d %q, want %q", url, resp.StatusCode, b, want)
	}
	return nil
}

// TestForeignHAProxyIsLeftRunning: an HAProxy this package did not start
// is reloaded but never stopped.
func TestForeignHAProxyIsLeftRunning(t *testing.T) {
	port := testenv.FreePort(t)
	dir := t.TempDir()
	ext := testenv.StartHAProxy(t, config(dir, port, 1, ""))
	p := New(Config{Binary: testenv.HAProxyBinary(t), ConfigPath: ext.ConfigPath, MasterSocket: ext.MasterSocket,
		StatsSocket: filepath.Join(dir, "admin.sock"), Output: io.Discard})
	ctx := context.Background()
	if started, err := p.Start(ctx); err != nil || started {
		t.Fatalf("Start on a running HAProxy: %v, %v", started, err)
	}
	if p.Owned() {
		t.Error("claims to own a foreign HAProxy")
	}
	if err := p.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(time.Second); err != nil {
		t.Fatal(err)
	}
	if !p.Running(ctx) {
		t.Error("Stop stopped an HAProxy it did not start")
	}
}
