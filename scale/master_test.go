package scale

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

// masterProc is one `berth master` process on a work dir that outlives it.
type masterProc struct {
	t       testing.TB
	bin     string
	workDir string
	port    int
	cmd     *exec.Cmd
	done    chan struct{}
}

func startMaster(t testing.TB) *masterProc {
	t.Helper()
	m := &masterProc{t: t, bin: testenv.BerthBinary(t), workDir: t.TempDir(), port: testenv.FreePort(t)}
	m.start()
	t.Cleanup(m.kill)
	return m
}

func (m *masterProc) url() string { return fmt.Sprintf("http://127.0.0.1:%d", m.port) }

func (m *masterProc) start() {
	m.t.Helper()
	logf, err := os.OpenFile(filepath.Join(m.workDir, "master.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		m.t.Fatal(err)
	}
	cmd := exec.Command(m.bin, "master", "--listen", fmt.Sprintf("127.0.0.1:%d", m.port),
		"--work-dir", filepath.Join(m.workDir, "store"), "--service-ports", "30000-30999")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		m.t.Fatalf("start berth master: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	m.cmd, m.done = cmd, done
	testenv.WaitFor(m.t, 2*time.Minute, "berth master answers /ping", func() error {
		res, err := http.Get(m.url() + "/ping")
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("/ping: %d", res.StatusCode)
		}
		return nil
	})
}

func (m *masterProc) pid() int { return m.cmd.Process.Pid }

// kill ends the process with SIGKILL (a crash) and waits for it.
func (m *masterProc) kill() {
	if m.cmd == nil {
		return
	}
	_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
	<-m.done
	m.cmd = nil
}

// raiseFileLimit lets one process hold a connection per simulated agent
// (each agent uses one at a time: its long poll, then its status post on
// the same kept-alive connection), and so does the master, which inherits
// the limit. Only the soft limit can be raised here, up to the hard one.
func raiseFileLimit(t testing.TB, n uint64) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Max < n {
		t.Fatalf("the open-file limit's hard value is %d; this profile needs %d (one connection per simulated agent and some)", lim.Max, n)
	}
	if lim.Cur < n {
		want := syscall.Rlimit{Cur: lim.Max, Max: lim.Max}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
			t.Fatalf("raise the open-file limit to %d: %v", lim.Max, err)
		}
	}
}
