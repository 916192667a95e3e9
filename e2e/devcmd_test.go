package e2e

import (
	"bufio"
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/berth-platform/berth/internal/devstack"
	"github.com/berth-platform/berth/internal/testenv"
)

// TestDevCommand runs `berth dev` as a user does: it prints where
// everything is, serves an app, refuses a second instance naming the taken
// port, and on Ctrl-C leaves no container and no process behind.
func TestDevCommand(t *testing.T) {
	berth := testenv.BerthBinary(t)
	root := testenv.RepoRoot(t)
	testenv.Image(t, "berth/hello")
	cli := testenv.Docker(t)
	free := func() string { return strconv.Itoa(testenv.FreePort(t)) }
	workDir := t.TempDir()
	master := "127.0.0.1:" + free()
	args := []string{"dev", "--work-dir", workDir, "--listen", master,
		"--consul-bin", testenv.ConsulBinary(t), "--haproxy-bin", testenv.HAProxyBinary(t),
		"--nginx-bin", testenv.NginxBinary(t),
		"--consul-http-port", free(), "--consul-dns-port", free(), "--consul-server-port", free(),
		"--consul-serf-lan-port", free(), "--consul-serf-wan-port", free(),
		"--agent-api-ports", free() + "," + free() + "," + free(),
		"--http-port", free(), "--haproxy-stats-port", free(), "--lbsync-listen", "127.0.0.1:" + free(),
		"--nginx-template", filepath.Join(root, "examples", "nginx", "nginx.ctmpl"), "--nginx-port", free(),
		"--chronos-listen", "127.0.0.1:" + free()}

	cmd := exec.Command(berth, args...)
	cmd.Dir = root
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{}) // closed once cmd.Wait returned waitErr
	var waitErr error
	var out lockedBuffer
	up := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
			if strings.HasPrefix(sc.Text(), "Try:") {
				close(up)
			}
		}
		waitErr = cmd.Wait()
		close(exited)
	}()
	// On failure, stop it the way a user does, so it removes its tasks.
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(2 * time.Minute):
			cmd.Process.Kill()
		}
	})
	select {
	case <-up:
	case <-exited:
		t.Fatalf("berth dev exited: %v\n%s\n%s", waitErr, out.String(), stderr.String())
	case <-time.After(3 * time.Minute):
		t.Fatalf("berth dev not up after 3 minutes:\n%s\n%s", out.String(), stderr.String())
	}
	for i := 1; i <= 3; i++ {
		id := readAgentIDForTest(t, filepath.Join(workDir, "agents", devstack.AgentName(i)))
		testenv.CleanupContainers(t, cli, "berth.agent-id", id)
	}
	summary := out.String()
	for _, want := range []string{"consul", "master", "agent-3", "registrator", "lbsync", "ready in",
		"API", "Consul UI", "haproxy?stats", "berth routes", "dig @127.0.0.1 -p", "logs"} {
		if !strings.Contains(summary, want) {
			t.Errorf("the summary lacks %q:\n%s", want, summary)
		}
	}

	// A second `berth dev` with the same ports names the taken one.
	second := exec.Command(berth, append([]string{"dev", "--work-dir", t.TempDir()}, args[3:]...)...)
	second.Dir = root
	msg, err := second.CombinedOutput()
	if err == nil || !strings.Contains(string(msg), master) || !strings.Contains(string(msg), "already in use") {
		t.Errorf("second berth dev: err %v, output %q; want an error naming %s", err, msg, master)
	}

	// An app runs, with tasks on every agent (containers to clean up).
	p := &platform{t: t, root: root, http: httpClient(), masterURL: "http://" + master}
	p.deploy(p.example("unique"), settle)
	ids := []string{}
	for i := 1; i <= 3; i++ {
		ids = append(ids, readAgentIDForTest(t, filepath.Join(workDir, "agents", devstack.AgentName(i))))
	}

	cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-exited:
		if waitErr != nil {
			t.Errorf("berth dev after Ctrl-C: %v\n%s", waitErr, stderr.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("berth dev did not stop within 2 minutes of Ctrl-C")
	}
	if !strings.Contains(out.String(), "no container or process left behind") {
		t.Errorf("stop output:\n%s\n%s", out.String(), stderr.String())
	}
	for _, id := range ids {
		list, err := cli.ContainerList(context.Background(), container.ListOptions{All: true,
			Filters: filters.NewArgs(filters.Arg("label", "berth.agent-id="+id))})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) > 0 {
			t.Errorf("%d containers of agent %s left behind", len(list), id)
		}
	}
	if left := devstack.Leftovers(workDir); len(left) > 0 {
		t.Errorf("processes left behind: %v", left)
	}
}

// lockedBuffer is a bytes.Buffer safe for one writer and one reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) WriteString(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(s)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
