package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

func (p *ProcessRuntime) observe(pf processFile) Observed {
	o := Observed{
		TaskID: pf.TaskID, AppID: pf.AppID, Runtime: RuntimeProcess, Started: true, ClusterID: pf.ClusterID,
		RuntimeID: strconv.Itoa(pf.PID) + ":" + strconv.FormatUint(pf.StartTime, 10),
	}
	if pf.Exited {
		o.ExitKnown, o.ExitCode, o.FinishedAt, o.Message = pf.ExitKnown, pf.ExitCode, pf.FinishedAt, pf.Message
		return o
	}
	o.Running = true
	return o
}

func (p *ProcessRuntime) isChild(taskID string) (chan struct{}, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ch, ok := p.children[taskID]
	return ch, ok
}

// List implements Runtime: every task directory with a process.json. A
// process that is gone without this runtime having reaped it (it was
// adopted after a restart) is recorded as exited with an unknown code.
func (p *ProcessRuntime) List(_ context.Context, _ string) ([]Observed, error) {
	ents, err := os.ReadDir(p.dir)
	if err != nil {
		return nil, fmt.Errorf("process runtime: list %s: %w", p.dir, err)
	}
	var out []Observed
	for _, e := range ents {
		path := filepath.Join(p.dir, e.Name(), "process.json")
		var pf processFile
		if err := readJSONFile(path, &pf); err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				p.log.Warn("skipping an unreadable process record", "path", path, "err", err)
			}
			continue
		}
		if !pf.Exited {
			if pf, err = p.settleOrphan(path, pf); err != nil {
				return nil, err
			}
		}
		out = append(out, p.observe(pf))
	}
	return out, nil
}

// settleOrphan records a process that is gone without this runtime having
// reaped it (adopted after a restart) as exited with an unknown code. The
// decision is taken under p.mu with the record read again: reap writes a
// child's exit before it stops being a child, so a child that exited a
// moment ago keeps its exit code.
func (p *ProcessRuntime) settleOrphan(path string, pf processFile) (processFile, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, child := p.children[pf.TaskID]; child {
		return pf, nil
	}
	if err := readJSONFile(path, &pf); err != nil {
		return pf, fmt.Errorf("process runtime: %w", err)
	}
	if pf.Exited || alive(pf) {
		return pf, nil
	}
	pf.Exited, pf.FinishedAt = true, p.now()
	pf.Message = "the process ended while it was not this agent's child"
	if err := writeJSONFile(path, pf); err != nil {
		return pf, fmt.Errorf("process runtime: %w", err)
	}
	return pf, nil
}

func (p *ProcessRuntime) load(taskID string) (processFile, error) {
	var pf processFile
	err := readJSONFile(filepath.Join(p.taskDir(taskID), "process.json"), &pf)
	return pf, err
}

// Stop implements Runtime: SIGTERM to the task's process group, SIGKILL
// after grace.
func (p *ProcessRuntime) Stop(ctx context.Context, o Observed, grace time.Duration) error {
	pf, err := p.load(o.TaskID)
	if err != nil {
		return fmt.Errorf("process runtime: stop %s: %w", o.TaskID, err)
	}
	if pf.Exited || !alive(pf) {
		return nil
	}
	if err := syscall.Kill(-pf.PID, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("process runtime: SIGTERM %s (pgid %d): %w", o.TaskID, pf.PID, err)
	}
	if p.waitGone(ctx, pf, grace) {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	p.log.Info("grace period over; sending SIGKILL", "task", o.TaskID, "grace", grace.String())
	if err := syscall.Kill(-pf.PID, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("process runtime: SIGKILL %s (pgid %d): %w", o.TaskID, pf.PID, err)
	}
	if !p.waitGone(ctx, pf, 10*time.Second) {
		return fmt.Errorf("process runtime: %s (pid %d) still runs after SIGKILL", o.TaskID, pf.PID)
	}
	return nil
}

// waitGone waits up to d for the process to end (reaped, if it is ours).
func (p *ProcessRuntime) waitGone(ctx context.Context, pf processFile, d time.Duration) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		done, child := p.isChild(pf.TaskID)
		if !child && !alive(pf) {
			return true
		}
		select {
		case <-done: // nil channel when not a child: never ready
			return true
		case <-tick.C:
		case <-deadline.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// Remove implements Runtime: deletes the task's directory and sandbox.
func (p *ProcessRuntime) Remove(_ context.Context, o Observed) error {
	if pf, err := p.load(o.TaskID); err == nil && !pf.Exited && alive(pf) {
		return fmt.Errorf("process runtime: remove %s: pid %d still runs", o.TaskID, pf.PID)
	}
	if err := os.RemoveAll(p.taskDir(o.TaskID)); err != nil {
		return fmt.Errorf("process runtime: remove %s: %w", o.TaskID, err)
	}
	return nil
}

// Logs implements Runtime: the sandbox's stdout or stderr file.
func (p *ProcessRuntime) Logs(ctx context.Context, o Observed, stream string, offset int64, follow bool) (io.ReadCloser, error) {
	f, err := os.Open(filepath.Join(p.Sandbox(o.TaskID), stream))
	if err != nil {
		return nil, fmt.Errorf("process runtime: logs of %s: %w", o.TaskID, err)
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("process runtime: logs of %s: seek %d: %w", o.TaskID, offset, err)
	}
	if !follow {
		return f, nil
	}
	return &followReader{ctx: ctx, f: f, running: func() bool {
		pf, err := p.load(o.TaskID)
		return err == nil && !pf.Exited && alive(pf)
	}}, nil
}

// followReader reads a growing file until the writer is gone and the file
// is drained, or ctx is done.
type followReader struct {
	ctx     context.Context
	f       *os.File
	running func() bool
}

func (r *followReader) Read(b []byte) (int, error) {
	for {
		n, err := r.f.Read(b)
		if n > 0 || !errors.Is(err, io.EOF) {
			return n, err
		}
		if !r.running() {
			// One last read: the process may have written before exiting.
			if n, err = r.f.Read(b); n > 0 {
				return n, nil
			}
			return 0, io.EOF
		}
		if !sleepCtx(r.ctx, 200*time.Millisecond) {
			return 0, r.ctx.Err()
		}
	}
}

func (r *followReader) Close() error { return r.f.Close() }

// Exec implements Execer: /bin/sh -c command in the task's sandbox with
// the task's environment, as the task's user.
func (p *ProcessRuntime) Exec(ctx context.Context, o Observed, l Launch, command string) (int, error) {
	sb := p.Sandbox(o.TaskID)
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
	cmd.Dir, cmd.Env = sb, p.env(l, sb)
	if l.Spec.User != "" {
		cred, err := credential(l.Spec.User)
		if err != nil {
			return -1, err
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return -1, err
	}
	return 0, nil
}

// Watch implements Watcher: a notification whenever a child exits.
func (p *ProcessRuntime) Watch(ctx context.Context, _ string, notify func()) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.exited:
			notify()
		}
	}
}
