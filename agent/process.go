package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ProcessRuntime runs tasks without a container: /bin/sh -c cmd (or args)
// in a per-task sandbox directory, in its own session and process group,
// with stdout and stderr written to files in the sandbox. Each task's pid
// and start time are recorded in its directory, so a restarted agent finds
// (adopts) the processes it launched and never signals a recycled pid.
type ProcessRuntime struct {
	dir    string
	log    *slog.Logger
	now    func() time.Time
	exited chan struct{} // capacity 1: a child exited

	mu       sync.Mutex
	children map[string]chan struct{} // task id -> closed when reaped
}

// ProcessConfig configures a ProcessRuntime.
type ProcessConfig struct {
	Dir    string // e.g. <work-dir>/process
	Logger *slog.Logger
	Now    func() time.Time
}

// processFile is a task's process.json.
type processFile struct {
	TaskID     string    `json:"taskId"`
	AppID      string    `json:"appId"`
	ClusterID  string    `json:"clusterId,omitempty"`
	PID        int       `json:"pid"`
	StartTime  uint64    `json:"startTime"` // /proc/<pid>/stat field 22
	Exited     bool      `json:"exited,omitempty"`
	ExitKnown  bool      `json:"exitKnown,omitempty"`
	ExitCode   int       `json:"exitCode,omitempty"`
	Message    string    `json:"message,omitempty"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
}

// NewProcessRuntime creates the runtime's directory.
func NewProcessRuntime(cfg ProcessConfig) (*ProcessRuntime, error) {
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("process runtime: create %s: %w", cfg.Dir, err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &ProcessRuntime{dir: cfg.Dir, log: cfg.Logger, now: cfg.Now, exited: make(chan struct{}, 1), children: map[string]chan struct{}{}}, nil
}

func (p *ProcessRuntime) taskDir(taskID string) string {
	return filepath.Join(p.dir, safeFileName(taskID))
}

// Sandbox is the working directory of a process task (stdout and stderr
// are files in it).
func (p *ProcessRuntime) Sandbox(taskID string) string {
	return filepath.Join(p.taskDir(taskID), "sandbox")
}

// Launch implements Runtime.
func (p *ProcessRuntime) Launch(ctx context.Context, l Launch) (Observed, error) {
	spec := l.Spec
	argv, err := commandLine(spec.Cmd, spec.Args)
	if err != nil {
		return Observed{}, err
	}
	sb := p.Sandbox(spec.TaskID)
	if err := os.MkdirAll(sb, 0o755); err != nil {
		return Observed{}, fmt.Errorf("create sandbox %s: %w", sb, err)
	}
	if err := FetchAll(ctx, sb, spec.Fetch, nil); err != nil {
		return Observed{}, err
	}
	stdout, err := os.OpenFile(filepath.Join(sb, "stdout"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return Observed{}, fmt.Errorf("open stdout: %w", err)
	}
	defer stdout.Close()
	stderr, err := os.OpenFile(filepath.Join(sb, "stderr"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return Observed{}, fmt.Errorf("open stderr: %w", err)
	}
	defer stderr.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = sb, stdout, stderr
	cmd.Env = p.env(l, sb)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if spec.User != "" {
		cred, err := credential(spec.User)
		if err != nil {
			return Observed{}, err
		}
		cmd.SysProcAttr.Credential = cred
		if err := os.Chown(sb, int(cred.Uid), int(cred.Gid)); err != nil {
			return Observed{}, fmt.Errorf("chown sandbox to %s: %w", spec.User, err)
		}
	}
	if err := cmd.Start(); err != nil {
		return Observed{}, fmt.Errorf("start %q: %w", strings.Join(argv, " "), err)
	}
	st, _, err := procStat(cmd.Process.Pid)
	if err != nil { // cannot happen before Wait; kill rather than run untracked
		cmd.Process.Kill() //nolint:errcheck
		cmd.Wait()         //nolint:errcheck
		return Observed{}, fmt.Errorf("read start time of pid %d: %w", cmd.Process.Pid, err)
	}
	pf := processFile{TaskID: spec.TaskID, AppID: spec.AppID, ClusterID: l.ClusterID, PID: cmd.Process.Pid, StartTime: st}
	// A child is registered before its record exists, so List never takes
	// it for a process adopted after a restart.
	done := make(chan struct{})
	p.mu.Lock()
	p.children[spec.TaskID] = done
	p.mu.Unlock()
	if err := writeJSONFile(filepath.Join(p.taskDir(spec.TaskID), "process.json"), pf); err != nil {
		p.mu.Lock()
		delete(p.children, spec.TaskID)
		p.mu.Unlock()
		cmd.Process.Kill() //nolint:errcheck
		cmd.Wait()         //nolint:errcheck
		return Observed{}, err
	}
	go p.reap(cmd, pf, done)
	return p.observe(pf), nil
}

// reap waits for a child and records its exit. The goroutine lives as long
// as the child; it is the only way to learn a child's exit code.
func (p *ProcessRuntime) reap(cmd *exec.Cmd, pf processFile, done chan struct{}) {
	err := cmd.Wait()
	pf.Exited, pf.ExitKnown, pf.FinishedAt = true, true, p.now()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			pf.ExitCode, pf.Message = 128+int(ws.Signal()), "terminated by signal "+ws.Signal().String()
		} else {
			pf.ExitCode = ee.ExitCode()
		}
	default:
		pf.ExitKnown, pf.Message = false, err.Error()
	}
	if werr := writeJSONFile(filepath.Join(p.taskDir(pf.TaskID), "process.json"), pf); werr != nil {
		p.log.Error("cannot record a process exit", "task", pf.TaskID, "err", werr)
	}
	p.mu.Lock()
	delete(p.children, pf.TaskID)
	p.mu.Unlock()
	close(done)
	select {
	case p.exited <- struct{}{}:
	default:
	}
}

func (p *ProcessRuntime) env(l Launch, sandbox string) []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	return TaskEnv(l.Spec, l.Host, map[string]string{"MESOS_SANDBOX": sandbox, "PATH": path})
}

func commandLine(cmd string, args []string) ([]string, error) {
	switch {
	case cmd != "":
		return []string{"/bin/sh", "-c", cmd}, nil
	case len(args) > 0:
		return args, nil
	}
	return nil, errors.New("the task has neither cmd nor args")
}

func credential(name string) (*syscall.Credential, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("user %q: %w", name, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("user %q: non-numeric uid/gid %s/%s", name, u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// procStat reads a pid's start time and state from /proc/<pid>/stat.
func procStat(pid int) (startTime uint64, state byte, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("pid %d: malformed stat", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0, 0, fmt.Errorf("pid %d: short stat", pid)
	}
	st, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("pid %d: start time: %w", pid, err)
	}
	return st, f[0][0], nil
}

// alive reports whether pf's process still runs (same pid and start
// time, not a zombie).
func alive(pf processFile) bool {
	st, state, err := procStat(pf.PID)
	return err == nil && st == pf.StartTime && state != 'Z' && state != 'X'
}
