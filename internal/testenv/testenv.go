package testenv

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// InCI reports whether the tests run under CI (CI=true), where a missing
// component is a failure rather than a skip.
func InCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1" || v == "yes"
}

// Need reports a missing component when err is not nil: under CI the test
// fails, elsewhere it is skipped. The message names the component and says
// how to install it.
func Need(t testing.TB, component string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	msg := fmt.Sprintf("missing component %s: %v (run `make setup`)", component, err)
	if InCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// RepoRoot returns the directory holding Berth's go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	root, err := findRepoRoot()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return root
}

func findRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(data), "module github.com/berth-platform/berth\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod of github.com/berth-platform/berth above the working directory")
		}
		dir = parent
	}
}

// portsMu and handed make FreePort never hand out the same port twice in one
// test binary, even when a component has not bound it yet.
var (
	portsMu sync.Mutex
	handed  = map[int]bool{}
)

// The pool FreePort draws from lies below the kernel's ephemeral range
// (32768–60999), so a later ":0" listener such as httptest.NewServer can
// never be given a port FreePort handed out, and above the servicePort pool
// (10000–20000) that tests may use for fixed servicePorts.
const (
	freePortMin = 20000
	freePortMax = 30000
	// reservationTTL is how long a reservation file keeps other test
	// binaries from taking the same port.
	reservationTTL = 15 * time.Minute
)

// FreePort returns a TCP port on 127.0.0.1 that is free now (TCP and UDP),
// that this test binary has not handed out before, and that no other test
// binary running at the same time reserved.
func FreePort(t testing.TB) int {
	t.Helper()
	for range 1000 {
		port := freePortMin + rand.IntN(freePortMax-freePortMin)
		portsMu.Lock()
		dup := handed[port]
		handed[port] = true
		portsMu.Unlock()
		if dup || !tcpFree(port) || !udpFree(port) || !reservePort(port) {
			continue
		}
		return port
	}
	t.Fatal("testenv: no free port after 1000 tries")
	return 0
}

func tcpFree(port int) bool {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// reservePort creates a reservation file for port that test binaries
// running in parallel respect; reservations expire after reservationTTL.
func reservePort(port int) bool {
	dir := filepath.Join(os.TempDir(), "berth-test-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return true // no shared directory: fall back to the bind check alone
	}
	p := filepath.Join(dir, strconv.Itoa(port))
	for range 2 {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			f.Close()
			return true
		}
		st, serr := os.Stat(p)
		if serr != nil || time.Since(st.ModTime()) < reservationTTL {
			return false
		}
		os.Remove(p) // expired
	}
	return false
}

func udpFree(port int) bool {
	c, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// WaitFor polls cond every 20 ms (backing off to 250 ms) until it returns
// nil or timeout passes; then it fails the test with cond's last error.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	if err := Poll(timeout, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// Poll is WaitFor without a test: it returns cond's last error on timeout.
func Poll(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	delay := 20 * time.Millisecond
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gave up after %s: %w", timeout, err)
		}
		time.Sleep(delay)
		delay = min(delay*3/2, 250*time.Millisecond)
	}
}

// lookBinary finds an executable by absolute path or on PATH (plus the
// sbin directories, which root's PATH may lack).
func lookBinary(name string, candidates ...string) (string, error) {
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return c, nil
		}
	}
	for _, dir := range append(filepath.SplitList(os.Getenv("PATH")), "/usr/sbin", "/sbin") {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH", name)
}
