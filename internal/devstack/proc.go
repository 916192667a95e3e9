package devstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// child is one component running as a child process in its own process
// group (so the terminal's Ctrl-C reaches only `berth dev`, which stops the
// children in order), with its output in a log file.
type child struct {
	name    string
	argv    []string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error // Wait's result, valid once done is closed
}

func startChild(name, logPath string, argv ...string) (*child, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: log file: %w", name, err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Pdeathsig: a `berth dev` killed with SIGKILL takes its children along.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("%s: start %s: %w", name, argv[0], err)
	}
	c := &child{name: name, argv: argv, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		logf.Close()
		close(c.done)
	}()
	return c, nil
}

// exited reports whether the process ended, with its error.
func (c *child) exited() (bool, error) {
	select {
	case <-c.done:
		if c.err == nil {
			return true, errors.New("exited")
		}
		return true, c.err
	default:
		return false, nil
	}
}

// stop sends SIGTERM to the child's process group, then SIGKILL after
// grace, and waits for it.
func (c *child) stop(grace time.Duration) {
	if done, _ := c.exited(); done {
		return
	}
	syscall.Kill(-c.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(grace):
		syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		<-c.done
	}
}

// kill sends SIGKILL to the child's process group and waits for it.
func (c *child) kill() {
	syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	<-c.done
}

// logTail is the last few lines of the child's log, for error messages.
func (c *child) logTail() string {
	b, err := os.ReadFile(c.logPath)
	if err != nil {
		return ""
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// waitReady polls ready every 50 ms until it succeeds, the child exits,
// timeout passes or ctx ends; the error names the child and its log.
func (c *child) waitReady(ctx context.Context, timeout time.Duration, ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		if done, err := c.exited(); done {
			return fmt.Errorf("%s %v before it was ready (log %s):\n%s", c.name, err, c.logPath, c.logTail())
		}
		err := ready(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s: %v (log %s):\n%s", c.name, timeout, err, c.logPath, c.logTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
