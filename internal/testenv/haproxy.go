package testenv

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// HAProxyBinary returns the path of haproxy (Debian's package).
func HAProxyBinary(t testing.TB) string {
	t.Helper()
	p, err := lookBinary("haproxy", "/usr/sbin/haproxy")
	Need(t, "haproxy (Debian package haproxy)", err)
	return p
}

// HAProxy is HAProxy running in master-worker mode with a master CLI socket.
type HAProxy struct {
	Dir          string
	ConfigPath   string
	MasterSocket string
	proc         *Process
	t            testing.TB
}

// StartHAProxy writes config, checks it with `haproxy -c`, starts HAProxy in
// master-worker mode (-W) with a master socket (-S), and waits until a
// worker is up. It is stopped when the test ends.
func StartHAProxy(t testing.TB, config string) *HAProxy {
	t.Helper()
	bin := HAProxyBinary(t)
	dir := t.TempDir()
	h := &HAProxy{
		Dir:          dir,
		ConfigPath:   filepath.Join(dir, "haproxy.cfg"),
		MasterSocket: filepath.Join(dir, "master.sock"),
		t:            t,
	}
	if err := h.WriteConfig(config); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	h.proc = startProcess(t, "haproxy", dir, nil, bin, "-W", "-S", h.MasterSocket, "-f", h.ConfigPath)
	err := Poll(20*time.Second, func() error {
		if h.proc.Exited() {
			return errors.New("haproxy exited")
		}
		_, workers, err := h.Procs()
		if err != nil {
			return err
		}
		if len(workers) == 0 {
			return errors.New("no worker yet")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("testenv: haproxy did not start: %v\n%s", err, h.proc.LogTail())
	}
	return h
}

// WriteConfig checks config with `haproxy -c` and writes it to ConfigPath.
func (h *HAProxy) WriteConfig(config string) error {
	tmp := h.ConfigPath + ".tmp"
	if err := os.WriteFile(tmp, []byte(config), 0o644); err != nil {
		return err
	}
	out, err := exec.Command(HAProxyBinary(h.t), "-c", "-q", "-f", tmp).CombinedOutput()
	if err != nil {
		return fmt.Errorf("haproxy -c: %v: %s", err, out)
	}
	return os.Rename(tmp, h.ConfigPath)
}

// MasterPID is the pid of the master process.
func (h *HAProxy) MasterPID() int { return h.proc.PID() }

// MasterCmd sends one command to the master CLI and returns its answer.
func (h *HAProxy) MasterCmd(cmd string) (string, error) {
	conn, err := net.DialTimeout("unix", h.MasterSocket, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, cmd+"\n"); err != nil {
		return "", err
	}
	// The master CLI answers once it sees the end of the request.
	if uc, ok := conn.(*net.UnixConn); ok {
		uc.CloseWrite()
	}
	out, err := io.ReadAll(conn)
	return string(out), err
}

var procLine = regexp.MustCompile(`(?m)^(\d+)\s+(master|worker)\s+(\d+)(?:\s+\[failed: (\d+)\])?`)

// Procs parses `show proc`: the master's reload and failed-reload counts, and
// the current workers' pids (old workers excluded).
func (h *HAProxy) Procs() (reloads [2]int, workers []int, err error) {
	out, err := h.MasterCmd("show proc")
	if err != nil {
		return reloads, nil, err
	}
	current := true
	for _, line := range regexp.MustCompile(`\r?\n`).Split(out, -1) {
		if line == "# old workers" {
			current = false
		}
		m := procLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		switch m[2] {
		case "master":
			reloads[0], _ = strconv.Atoi(m[3])
			reloads[1], _ = strconv.Atoi(m[4])
		case "worker":
			if current {
				workers = append(workers, pid)
			}
		}
	}
	return reloads, workers, nil
}

// Reload asks the master for a seamless reload and waits until a new worker
// replaced the old ones with no failed reload.
func (h *HAProxy) Reload() error {
	before, oldWorkers, err := h.Procs()
	if err != nil {
		return err
	}
	if _, err := h.MasterCmd("reload"); err != nil {
		return fmt.Errorf("haproxy reload: %w", err)
	}
	return Poll(20*time.Second, func() error {
		after, workers, err := h.Procs()
		if err != nil {
			return err
		}
		if after[1] > before[1] {
			return errors.New("reload failed (see the haproxy log)")
		}
		if after[0] <= before[0] || len(workers) == 0 || sameInts(workers, oldWorkers) {
			return fmt.Errorf("no new worker yet (reloads %d, workers %v)", after[0], workers)
		}
		return nil
	})
}

// Process exposes the master process.
func (h *HAProxy) Process() *Process { return h.proc }

func sameInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
