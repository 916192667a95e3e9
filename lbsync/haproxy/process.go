package haproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Config describes the HAProxy to drive.
type Config struct {
	Binary       string // default "haproxy"
	ConfigPath   string // the live configuration file
	MasterSocket string // master CLI (-S)
	StatsSocket  string // Runtime API socket (stats socket … level admin)
	// Output receives HAProxy's own stdout/stderr when this package started
	// it (default os.Stderr).
	Output io.Writer
	// ReloadTimeout bounds the wait for a reload's confirmation (default 10s).
	ReloadTimeout time.Duration
	Logger        *slog.Logger
}

// ErrReloadFailed means the master refused the new configuration: it keeps
// the previous workers running.
var ErrReloadFailed = errors.New("haproxy: reload failed, previous workers keep running")

// Process is one HAProxy master-worker, started by this package or found
// already running on the master socket.
type Process struct {
	cfg Config

	mu     sync.Mutex
	cmd    *exec.Cmd     // nil unless we started it
	exited chan struct{} // closed when cmd has exited
	last   procs         // `show proc` that confirmed the last start or reload
	known  bool          // last is set
}

// Info is the master's `show proc` that confirmed the last start or
// reload.
type Info struct {
	MasterPID int
	Version   string // e.g. 2.6.12-1+deb12u4
	Workers   int    // current workers (not old ones still finishing)
	Reloads   int    // the master's reload counter
	Failed    int    // of which failed
}

// Info returns the master's state at the last confirmed start or reload;
// false before one.
func (p *Process) Info() (Info, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.last
	return Info{MasterPID: l.MasterPID, Version: l.Version, Workers: len(l.Workers), Reloads: l.Reloads,
		Failed: l.Failed}, p.known
}

// New returns a Process for cfg; nothing is started yet.
func New(cfg Config) *Process {
	if cfg.Binary == "" {
		cfg.Binary = "haproxy"
	}
	if cfg.Output == nil {
		cfg.Output = os.Stderr
	}
	if cfg.ReloadTimeout == 0 {
		cfg.ReloadTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Process{cfg: cfg}
}

// Validate runs `haproxy -c -q -f path`.
func (p *Process) Validate(ctx context.Context, path string) error {
	out, err := exec.CommandContext(ctx, p.cfg.Binary, "-c", "-f", path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("haproxy: check %s: %w: %s", path, err, alerts(string(out)))
	}
	return nil
}

// Running reports whether a master answers on the master socket.
func (p *Process) Running(ctx context.Context) bool {
	_, err := p.showProc(ctx)
	return err == nil
}

// Owned reports whether this Process started the running HAProxy.
func (p *Process) Owned() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil && !isClosed(p.exited)
}

// Start starts `haproxy -W -S <master socket> -f <config>` unless a master
// already answers, and waits until it has a worker. started says whether
// it had to start one.
func (p *Process) Start(ctx context.Context) (started bool, err error) {
	if p.Running(ctx) {
		return false, nil
	}
	p.mu.Lock()
	cmd := exec.Command(p.cfg.Binary, "-W", "-S", p.cfg.MasterSocket, "-f", p.cfg.ConfigPath)
	cmd.Stdout, cmd.Stderr = p.cfg.Output, p.cfg.Output
	// Its own process group: a Ctrl-C meant for lbsync must not kill
	// HAProxy behind lbsync's back; lbsync stops it itself.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		p.mu.Unlock()
		return false, fmt.Errorf("haproxy: start %s: %w", p.cfg.ConfigPath, err)
	}
	exited := make(chan struct{})
	p.cmd, p.exited = cmd, exited
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		p.cfg.Logger.Info("haproxy master exited", "pid", cmd.Process.Pid, "err", err)
		close(exited)
	}()
	p.cfg.Logger.Info("started haproxy", "pid", cmd.Process.Pid, "config", p.cfg.ConfigPath)
	return true, p.waitFor(ctx, func(pr procs) bool { return len(pr.Workers) > 0 }, exited)
}

// Reload asks the master to reload (it re-reads ConfigPath) and waits for
// the confirmation: the master's reload counter moved, it reports no
// failure, and a worker that did not exist before is serving.
func (p *Process) Reload(ctx context.Context) error {
	before, err := p.showProc(ctx)
	if err != nil {
		return err
	}
	if _, err := command(ctx, p.cfg.MasterSocket, "reload"); err != nil {
		return fmt.Errorf("haproxy: reload: %w", err)
	}
	p.mu.Lock()
	exited := p.exited
	p.mu.Unlock()
	var failed bool
	err = p.waitFor(ctx, func(pr procs) bool {
		if pr.Reloads <= before.Reloads {
			return false
		}
		if pr.Failed > 0 {
			failed = true
			return true
		}
		return slices.ContainsFunc(pr.Workers, func(w int) bool { return !slices.Contains(before.Workers, w) })
	}, exited)
	if failed {
		return ErrReloadFailed
	}
	return err
}

func (p *Process) waitFor(ctx context.Context, done func(procs) bool, exited chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.ReloadTimeout)
	defer cancel()
	delay := 5 * time.Millisecond
	var last error
	for {
		pr, err := p.showProc(ctx)
		if err == nil && done(pr) {
			p.mu.Lock()
			p.last, p.known = pr, true
			p.mu.Unlock()
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("haproxy: waiting for the master: %w (last: %v)", ctx.Err(), last)
		case <-exited:
			return fmt.Errorf("haproxy: master exited (see its output)")
		case <-time.After(delay):
		}
		delay = min(delay*2, 100*time.Millisecond)
	}
}

func (p *Process) showProc(ctx context.Context) (procs, error) {
	out, err := command(ctx, p.cfg.MasterSocket, "show proc")
	if err != nil {
		return procs{}, err
	}
	return parseShowProc(out)
}

// Runtime sends Runtime API commands to the stats socket, one connection
// each, and fails on the first answer that is not a success.
func (p *Process) Runtime(ctx context.Context, cmds []string) error {
	for _, c := range cmds {
		out, err := command(ctx, p.cfg.StatsSocket, c)
		if err != nil {
			return err
		}
		if !runtimeOK(out) {
			return fmt.Errorf("haproxy: runtime %q: %s", c, strings.TrimSpace(out))
		}
	}
	return nil
}

// runtimeOK recognises the answers of `set server`: nothing for a state
// change, "… changed from …" or "no need to change …" for an address.
func runtimeOK(out string) bool {
	out = strings.TrimSpace(out)
	return out == "" || strings.Contains(out, "changed from") || strings.HasPrefix(out, "no need to change")
}

// ServersState returns `show servers state`, the format of server-state-file.
func (p *Process) ServersState(ctx context.Context) ([]byte, error) {
	out, err := command(ctx, p.cfg.StatsSocket, "show servers state")
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(out, "1\n") {
		return nil, fmt.Errorf("haproxy: unexpected show servers state output %q", firstLine(out))
	}
	return []byte(out), nil
}

// Stop stops HAProxy if this Process started it (SIGTERM to the master,
// SIGKILL to its group after timeout); an HAProxy found running is left
// alone.
func (p *Process) Stop(timeout time.Duration) error {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil || isClosed(exited) {
		return nil
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		return nil
	case <-time.After(timeout):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		return fmt.Errorf("haproxy: master %d did not stop within %s; killed", cmd.Process.Pid, timeout)
	}
}

func isClosed(ch chan struct{}) bool {
	if ch == nil {
		return true
	}
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// alerts keeps the [ALERT] lines of haproxy's output (all of it if none).
func alerts(out string) string {
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "[ALERT]") {
			keep = append(keep, strings.TrimSpace(l))
		}
	}
	if len(keep) == 0 {
		return strings.TrimSpace(out)
	}
	return strings.Join(keep, "; ")
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
