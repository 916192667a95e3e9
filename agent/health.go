package agent

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berth-platform/berth/internal/wire"
)

// healthRunner runs the health checks of one running task.
type healthRunner struct {
	cancel context.CancelFunc
	key    string // restart the checks when the task's instance changes
}

// healthChecks groups what the check goroutines share.
type healthChecks struct {
	wg     sync.WaitGroup
	client *http.Client
}

// syncHealthLocked starts checks for running tasks that have some and
// stops the checks of tasks that no longer run.
func (a *Agent) syncHealthLocked(ctx context.Context) {
	want := map[string]string{}
	for id, r := range a.tasks {
		o, ok := a.observed[id]
		if r.State == wire.TaskRunning && ok && o.Running && r.Spec != nil && len(r.Spec.HealthChecks) > 0 {
			want[id] = o.RuntimeID
		}
	}
	for id, h := range a.health {
		if want[id] != h.key {
			h.cancel()
			delete(a.health, id)
		}
	}
	for id, key := range want {
		if a.health[id] != nil {
			continue
		}
		hctx, cancel := context.WithCancel(ctx)
		a.health[id] = &healthRunner{cancel: cancel, key: key}
		r := a.tasks[id]
		spec := *r.Spec
		r.Health = make([]wire.HealthResult, len(spec.HealthChecks))
		o := a.observed[id]
		for j, hc := range spec.HealthChecks {
			a.checks.wg.Add(1)
			go func() {
				defer a.checks.wg.Done()
				a.runCheck(hctx, spec, o, j, HealthCheckDefaults(hc))
			}()
		}
	}
}

func (a *Agent) stopAllHealth() {
	a.mu.Lock()
	for id, h := range a.health {
		h.cancel()
		delete(a.health, id)
	}
	a.mu.Unlock()
	a.checks.wg.Wait()
}

// checkState applies Marathon's rules to consecutive results: failures
// during the grace period are ignored until the task was healthy once.
type checkState struct {
	res        wire.HealthResult
	everAlive  bool
	graceUntil time.Time
	probe      time.Duration // the current fast retry before the first success
}

// firstProbe is the first retry of a check that has not passed yet.
const firstProbe = 50 * time.Millisecond

// nextWait is the pause before the next check: the interval, except that
// a task not yet healthy within its grace period is probed again sooner
// (50 ms, doubling up to the interval), so it is reported healthy — and
// routed — as soon as it answers. Failures there are not counted
// (Marathon ignores them during the grace period), so only the latency
// changes.
func (s *checkState) nextWait(now time.Time, interval time.Duration) time.Duration {
	if s.everAlive || !now.Before(s.graceUntil) {
		s.probe = 0
		return interval
	}
	if s.probe == 0 {
		s.probe = firstProbe
	} else {
		s.probe *= 2
	}
	return min(s.probe, interval)
}

func (s *checkState) record(now time.Time, err error) {
	ts := now.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	if err == nil {
		s.res.Alive, s.res.ConsecutiveFailures, s.res.LastSuccess = true, 0, ts
		if s.res.FirstSuccess == "" {
			s.res.FirstSuccess = ts
		}
		s.everAlive = true
		return
	}
	s.res.Alive = false
	s.res.LastFailure, s.res.LastFailureCause = ts, err.Error()
	if s.everAlive || !now.Before(s.graceUntil) {
		s.res.ConsecutiveFailures++
	}
}

func (a *Agent) runCheck(ctx context.Context, spec wire.TaskSpec, o Observed, j int, hc wire.HealthCheck) {
	st := &checkState{graceUntil: a.cfg.Now().Add(time.Duration(hc.GracePeriodSeconds) * time.Second)}
	interval := time.Duration(hc.IntervalSeconds) * time.Second
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Duration(hc.TimeoutSeconds)*time.Second)
		err := a.checkOnce(cctx, spec, o, hc)
		cancel()
		if ctx.Err() != nil {
			return
		}
		st.record(a.cfg.Now(), err)
		a.setHealth(spec.TaskID, o.RuntimeID, j, len(spec.HealthChecks), st.res)
		if !sleepCtx(ctx, st.nextWait(a.cfg.Now(), interval)) {
			return
		}
	}
}

func (a *Agent) setHealth(taskID, runtimeID string, j, n int, res wire.HealthResult) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.tasks[taskID]
	if r == nil || r.ContainerID != runtimeID || r.State != wire.TaskRunning {
		return
	}
	if len(r.Health) != n {
		r.Health = make([]wire.HealthResult, n)
	}
	r.Health[j] = res
	a.reportLocked(r)
	a.publishTasksLocked() // the task list carries the health (the registrator's initial check status)
}

// checkOnce runs one check. MESOS_* protocols are run like their plain
// counterparts (from the agent, against the task's address).
func (a *Agent) checkOnce(ctx context.Context, spec wire.TaskSpec, o Observed, hc wire.HealthCheck) error {
	proto := strings.TrimPrefix(hc.Protocol, "MESOS_")
	if proto == "COMMAND" {
		ex, ok := a.cfg.Runtimes[o.Runtime].(Execer)
		if !ok {
			return fmt.Errorf("the %s containerizer cannot run COMMAND checks", o.Runtime)
		}
		code, err := ex.Exec(ctx, o, Launch{Spec: spec, AgentID: a.ID(), Host: a.cfg.Hostname}, hc.Command)
		if err != nil {
			return fmt.Errorf("command check: %w", err)
		}
		if code != 0 {
			return fmt.Errorf("command check exited with code %d", code)
		}
		return nil
	}
	addr, err := a.checkAddr(spec, o, hc)
	if err != nil {
		return err
	}
	switch proto {
	case "TCP":
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return fmt.Errorf("tcp check %s: %w", addr, err)
		}
		return c.Close()
	case "HTTP", "HTTPS":
		return a.checkHTTP(ctx, strings.ToLower(proto)+"://"+addr+hc.Path, hc.IgnoreHTTP1xx)
	default:
		return fmt.Errorf("unknown health check protocol %q", hc.Protocol)
	}
}

func (a *Agent) checkHTTP(ctx context.Context, url string, ignore1xx bool) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("http check %s: %w", url, err)
	}
	resp, err := a.checks.client.Do(req)
	if err != nil {
		return fmt.Errorf("http check %s: %w", url, err)
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 400:
		return nil
	case resp.StatusCode < 200 && ignore1xx:
		return nil
	}
	return fmt.Errorf("http check %s: status %d", url, resp.StatusCode)
}

// checkAddr is where a check connects: the agent's address and the task's
// host port, or (container-only ports) the container's IP and port.
func (a *Agent) checkAddr(spec wire.TaskSpec, o Observed, hc wire.HealthCheck) (string, error) {
	host := a.cfg.AdvertiseIP
	if host == "" {
		host = "127.0.0.1"
	}
	if hc.Port > 0 {
		return net.JoinHostPort(host, strconv.Itoa(hc.Port)), nil
	}
	if hc.PortIndex < 0 || hc.PortIndex >= len(spec.Ports) {
		return "", fmt.Errorf("health check port index %d: the task has %d ports", hc.PortIndex, len(spec.Ports))
	}
	p := spec.Ports[hc.PortIndex]
	if p.HostPort != 0 {
		return net.JoinHostPort(host, strconv.Itoa(p.HostPort)), nil
	}
	if o.IPAddress == "" || p.ContainerPort == 0 {
		return "", fmt.Errorf("health check port index %d has no host port and the container has no address", hc.PortIndex)
	}
	return net.JoinHostPort(o.IPAddress, strconv.Itoa(p.ContainerPort)), nil
}

func newHealthHTTPClient() *http.Client {
	tr := &http.Transport{
		// HTTPS checks do not verify certificates (Marathon's behaviour).
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // Marathon semantics
		DisableKeepAlives: true,
	}
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
