package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
)

// DockerRuntime runs tasks as Docker containers named berth-<task id> and
// labelled per DESIGN.md; it finds its containers by berth.agent-id.
type DockerRuntime struct {
	cli         *client.Client
	log         *slog.Logger
	pullTimeout time.Duration
	sandboxRoot string // Docker tasks' sandboxes ("" = none)

	mu     sync.Mutex
	pulls  map[string]*pull         // image -> in-flight pull, shared
	exited map[string]containerExit // container id -> exit facts (immutable)
}

type pull struct {
	done chan struct{}
	err  error
}

type containerExit struct {
	code       int
	finishedAt time.Time
	message    string
}

// DockerConfig configures a DockerRuntime.
type DockerConfig struct {
	Client *client.Client
	Logger *slog.Logger
	// PullTimeout bounds an image pull (default 5m): a pull never hangs a
	// task forever.
	PullTimeout time.Duration
	// SandboxDir holds the tasks' sandboxes (fetch URIs, mounted at
	// ContainerSandbox); "" gives Docker tasks no sandbox.
	SandboxDir string
}

// NewDockerRuntime builds the runtime over a Docker client.
func NewDockerRuntime(cfg DockerConfig) *DockerRuntime {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.PullTimeout <= 0 {
		cfg.PullTimeout = 5 * time.Minute
	}
	return &DockerRuntime{cli: cfg.Client, log: cfg.Logger, pullTimeout: cfg.PullTimeout, sandboxRoot: cfg.SandboxDir,
		pulls: map[string]*pull{}, exited: map[string]containerExit{}}
}

// Launch implements Runtime.
func (d *DockerRuntime) Launch(ctx context.Context, l Launch) (Observed, error) {
	ds, err := buildDockerSpec(l)
	if err != nil {
		return Observed{}, err
	}
	if err := d.prepareSandbox(ctx, l, &ds); err != nil {
		return Observed{}, err
	}
	created, err := d.create(ctx, ds, l.Spec.Container.ForcePullImage)
	if err != nil {
		return Observed{}, err
	}
	if err := d.cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		rmCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if rerr := d.cli.ContainerRemove(rmCtx, created.ID, container.RemoveOptions{Force: true}); rerr != nil {
			d.log.Warn("cannot remove a container that failed to start", "container", created.ID, "err", rerr)
		}
		return Observed{}, fmt.Errorf("docker: start container %s: %w", ds.Name, err)
	}
	o := Observed{TaskID: l.Spec.TaskID, AppID: l.Spec.AppID, Runtime: RuntimeDocker, RuntimeID: created.ID, Running: true, Started: true}
	if strings.EqualFold(l.Spec.Container.Network, "USER") {
		// Only a USER-network task is reached at its container's address.
		if insp, err := d.cli.ContainerInspect(ctx, created.ID); err == nil && insp.NetworkSettings != nil {
			o.IPAddress = containerIP(insp.NetworkSettings.Networks)
		}
	}
	return o, nil
}

func containerIP(nets map[string]*network.EndpointSettings) string {
	for _, n := range nets {
		if n != nil && n.IPAddress != "" {
			return n.IPAddress
		}
	}
	return ""
}

// create creates the container. Like `docker run`, it tries first and
// pulls only when the engine says the image is missing (or when
// forcePullImage asks for a pull): a local image costs no extra call.
func (d *DockerRuntime) create(ctx context.Context, ds dockerSpec, forcePull bool) (container.CreateResponse, error) {
	if forcePull {
		if err := d.ensureImage(ctx, ds.Config.Image, true); err != nil {
			return container.CreateResponse{}, err
		}
	}
	created, err := d.cli.ContainerCreate(ctx, ds.Config, ds.Host, ds.Network, nil, ds.Name)
	if err != nil && client.IsErrNotFound(err) && strings.Contains(err.Error(), "No such image") && !forcePull {
		if err := d.ensureImage(ctx, ds.Config.Image, false); err != nil {
			return created, err
		}
		created, err = d.cli.ContainerCreate(ctx, ds.Config, ds.Host, ds.Network, nil, ds.Name)
	}
	if err != nil {
		return created, fmt.Errorf("docker: create container %s: %w", ds.Name, err)
	}
	return created, nil
}

// ensureImage uses a local image as is; it pulls only when the image is
// absent or force is set. Concurrent launches of one image share a pull.
func (d *DockerRuntime) ensureImage(ctx context.Context, ref string, force bool) error {
	if !force {
		_, _, err := d.cli.ImageInspectWithRaw(ctx, ref)
		if err == nil {
			return nil
		}
		if !client.IsErrNotFound(err) {
			return fmt.Errorf("docker: inspect image %s: %w", ref, err)
		}
	}
	d.mu.Lock()
	p := d.pulls[ref]
	if p == nil {
		p = &pull{done: make(chan struct{})}
		d.pulls[ref] = p
		// The agent's context: a shutdown aborts the pull; every waiter
		// shares that context in practice.
		go d.pull(ctx, ref, p)
	}
	d.mu.Unlock()
	select {
	case <-p.done:
		if p.err != nil && force {
			return fmt.Errorf("image %s: forcePullImage is set and pulling it failed: %w", ref, p.err)
		}
		if p.err != nil {
			return fmt.Errorf("image %s is not available locally and pulling it failed: %w", ref, p.err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pull runs one shared pull, bounded by the pull timeout.
func (d *DockerRuntime) pull(ctx context.Context, ref string, p *pull) {
	ctx, cancel := context.WithTimeout(ctx, d.pullTimeout)
	defer cancel()
	d.log.Info("pulling image", "image", ref)
	rc, err := d.cli.ImagePull(ctx, ref, image.PullOptions{})
	if err == nil {
		err = pullStreamError(rc)
		rc.Close()
	}
	d.mu.Lock()
	p.err = err
	delete(d.pulls, ref)
	d.mu.Unlock()
	close(p.done)
}

// pullStreamError reads a pull's progress stream to its end and returns
// the error the registry reported in it, if any.
func pullStreamError(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var m struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read pull progress: %w", err)
		}
		if m.ErrorDetail.Message != "" {
			return errors.New(m.ErrorDetail.Message)
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
	}
}

// List implements Runtime: every container labelled with this agent's id.
func (d *DockerRuntime) List(ctx context.Context, agentID string) ([]Observed, error) {
	cs, err := d.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelAgentID+"="+agentID))})
	if err != nil {
		return nil, fmt.Errorf("docker: list containers of agent %s: %w", agentID, err)
	}
	out := make([]Observed, 0, len(cs))
	for _, c := range cs {
		taskID := c.Labels[LabelTaskID]
		if taskID == "" {
			continue // not Berth's: never touched
		}
		o := Observed{TaskID: taskID, AppID: c.Labels[LabelAppID], Runtime: RuntimeDocker, RuntimeID: c.ID, ClusterID: c.Labels[LabelClusterID]}
		switch c.State {
		case "running", "paused", "restarting":
			o.Running, o.Started = true, true
		case "created":
		default: // exited, dead, removing
			o.Started = true
			ex, err := d.exitOf(ctx, c.ID)
			if err != nil {
				return nil, err
			}
			o.ExitKnown, o.ExitCode, o.FinishedAt, o.Message = true, ex.code, ex.finishedAt, ex.message
		}
		if c.NetworkSettings != nil && c.HostConfig.NetworkMode != "bridge" && c.HostConfig.NetworkMode != "host" && c.HostConfig.NetworkMode != "default" {
			o.IPAddress = containerIP(c.NetworkSettings.Networks)
		}
		out = append(out, o)
	}
	return out, nil
}

// exitOf inspects an exited container once and caches the facts.
func (d *DockerRuntime) exitOf(ctx context.Context, id string) (containerExit, error) {
	d.mu.Lock()
	ex, ok := d.exited[id]
	d.mu.Unlock()
	if ok {
		return ex, nil
	}
	insp, err := d.cli.ContainerInspect(ctx, id)
	if err != nil {
		return ex, fmt.Errorf("docker: inspect container %s: %w", id, err)
	}
	if insp.State == nil {
		return ex, fmt.Errorf("docker: inspect container %s: no state", id)
	}
	ex.code = insp.State.ExitCode
	ex.finishedAt, _ = time.Parse(time.RFC3339Nano, insp.State.FinishedAt)
	var parts []string
	if insp.State.OOMKilled {
		parts = append(parts, "OOM killed (memory limit reached)")
	}
	if insp.State.Error != "" {
		parts = append(parts, insp.State.Error)
	}
	ex.message = strings.Join(parts, "; ")
	d.mu.Lock()
	d.exited[id] = ex
	d.mu.Unlock()
	return ex, nil
}

// Stop implements Runtime: SIGTERM (or the image's STOPSIGNAL, as
// `docker stop` does), then SIGKILL after grace.
func (d *DockerRuntime) Stop(ctx context.Context, o Observed, grace time.Duration) error {
	sig := "SIGTERM"
	if insp, err := d.cli.ContainerInspect(ctx, o.RuntimeID); err == nil && insp.Config != nil && insp.Config.StopSignal != "" {
		sig = insp.Config.StopSignal
	}
	if err := d.cli.ContainerKill(ctx, o.RuntimeID, sig); err != nil {
		if notRunning(err) {
			return nil
		}
		return fmt.Errorf("docker: %s %s (task %s): %w", sig, o.RuntimeID, o.TaskID, err)
	}
	if d.waitStopped(ctx, o.RuntimeID, grace) == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	d.log.Info("grace period over; sending SIGKILL", "task", o.TaskID, "grace", grace.String())
	if err := d.cli.ContainerKill(ctx, o.RuntimeID, "SIGKILL"); err != nil && !notRunning(err) {
		return fmt.Errorf("docker: SIGKILL %s (task %s): %w", o.RuntimeID, o.TaskID, err)
	}
	if err := d.waitStopped(ctx, o.RuntimeID, 30*time.Second); err != nil {
		return fmt.Errorf("docker: %s (task %s) still runs after SIGKILL: %w", o.RuntimeID, o.TaskID, err)
	}
	return nil
}

func notRunning(err error) bool {
	return client.IsErrNotFound(err) || strings.Contains(err.Error(), "is not running")
}

func (d *DockerRuntime) waitStopped(ctx context.Context, id string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	okc, errc := d.cli.ContainerWait(ctx, id, container.WaitConditionNotRunning)
	select {
	case <-okc:
		return nil
	case err := <-errc:
		if client.IsErrNotFound(err) {
			return nil
		}
		return err
	}
}

// Remove implements Runtime.
func (d *DockerRuntime) Remove(ctx context.Context, o Observed) error {
	err := d.cli.ContainerRemove(ctx, o.RuntimeID, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !client.IsErrNotFound(err) {
		return fmt.Errorf("docker: remove %s (task %s): %w", o.RuntimeID, o.TaskID, err)
	}
	d.mu.Lock()
	delete(d.exited, o.RuntimeID)
	d.mu.Unlock()
	return d.removeSandbox(o.TaskID)
}

// Logs implements Runtime: the container's log stream, demultiplexed, from
// byte offset on.
func (d *DockerRuntime) Logs(ctx context.Context, o Observed, stream string, offset int64, follow bool) (io.ReadCloser, error) {
	rc, err := d.cli.ContainerLogs(ctx, o.RuntimeID, container.LogsOptions{
		ShowStdout: stream == "stdout", ShowStderr: stream == "stderr", Follow: follow,
	})
	if err != nil {
		return nil, fmt.Errorf("docker: logs of %s (task %s): %w", o.RuntimeID, o.TaskID, err)
	}
	pr, pw := io.Pipe()
	go func() {
		w := &skipWriter{w: pw, skip: offset}
		var err error
		if stream == "stdout" {
			_, err = stdcopy.StdCopy(w, io.Discard, rc)
		} else {
			_, err = stdcopy.StdCopy(io.Discard, w, rc)
		}
		pw.CloseWithError(err)
	}()
	return &logReader{PipeReader: pr, body: rc}, nil
}

// skipWriter drops the first skip bytes written to it.
type skipWriter struct {
	w    io.Writer
	skip int64
}

func (s *skipWriter) Write(b []byte) (int, error) {
	n := len(b)
	if s.skip >= int64(n) {
		s.skip -= int64(n)
		return n, nil
	}
	b = b[s.skip:]
	s.skip = 0
	if _, err := s.w.Write(b); err != nil {
		return 0, err
	}
	return n, nil
}

type logReader struct {
	*io.PipeReader
	body io.Closer
}

// Close ends the copying goroutine by closing the Docker stream.
func (l *logReader) Close() error {
	l.PipeReader.Close()
	return l.body.Close()
}

// Watch implements Watcher: Docker events about this agent's containers.
func (d *DockerRuntime) Watch(ctx context.Context, agentID string, notify func()) error {
	f := filters.NewArgs(filters.Arg("type", "container"), filters.Arg("label", LabelAgentID+"="+agentID))
	for _, e := range []string{"create", "start", "die", "stop", "kill", "destroy", "oom", "pause", "unpause"} {
		f.Add("event", e)
	}
	msgs, errs := d.cli.Events(ctx, types.EventsOptions{Filters: f})
	notify() // anything missed while not subscribed
	for {
		select {
		case <-msgs:
			notify()
		case err := <-errs:
			if err == nil || errors.Is(err, io.EOF) {
				return errors.New("docker: event stream closed")
			}
			return fmt.Errorf("docker: event stream: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Exec implements Execer: /bin/sh -c command inside the container.
func (d *DockerRuntime) Exec(ctx context.Context, o Observed, _ Launch, command string) (int, error) {
	ex, err := d.cli.ContainerExecCreate(ctx, o.RuntimeID, types.ExecConfig{Cmd: []string{"/bin/sh", "-c", command}, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return -1, fmt.Errorf("docker: exec in %s: %w", o.RuntimeID, err)
	}
	att, err := d.cli.ContainerExecAttach(ctx, ex.ID, types.ExecStartCheck{})
	if err != nil {
		return -1, fmt.Errorf("docker: exec in %s: %w", o.RuntimeID, err)
	}
	_, err = io.Copy(io.Discard, att.Reader)
	att.Close()
	if err != nil {
		return -1, fmt.Errorf("docker: exec in %s: %w", o.RuntimeID, err)
	}
	insp, err := d.cli.ContainerExecInspect(ctx, ex.ID)
	if err != nil {
		return -1, fmt.Errorf("docker: exec in %s: %w", o.RuntimeID, err)
	}
	return insp.ExitCode, nil
}
