package master

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/berth-platform/berth/internal/wire"
	"github.com/berth-platform/berth/placement/marathon"
)

// readinessResult is Marathon's readinessCheckResults entry, kept on the
// task (Next is when the check runs again; not part of the API).
type readinessResult struct {
	Name         string             `json:"name"`
	TaskID       string             `json:"taskId"`
	Ready        bool               `json:"ready"`
	LastResponse *readinessResponse `json:"lastResponse,omitempty"`
	Next         string             `json:"next,omitempty"`
}

// readinessResponse is the last HTTP answer (preserveLastResponse).
type readinessResponse struct {
	Status      int    `json:"status"`
	ContentType string `json:"contentType"`
	Body        string `json:"body"`
}

// apiJSON is the result without Berth's scheduling field.
func (r readinessResult) apiJSON() readinessResult {
	r.Next = ""
	return r
}

// initialReadiness is a new task's results: not ready for every check.
func initialReadiness(app *marathon.App, taskID string) []readinessResult {
	checks := app.Readiness()
	if len(checks) == 0 {
		return nil
	}
	out := make([]readinessResult, len(checks))
	for i, c := range checks {
		out[i] = readinessResult{Name: c.Name, TaskID: taskID}
	}
	return out
}

// readinessReady reports whether every readiness check of t passed.
func (t *Task) readinessReady() bool {
	for _, r := range t.Readiness {
		if !r.Ready {
			return false
		}
	}
	return true
}

// probe is one readiness check to run against one task.
type probe struct {
	appID, taskID string
	index         int
	check         marathon.ReadinessCheck
	url           string
	err           error // the target could not be built
}

// probeResult is what running a probe observed.
type probeResult struct {
	ready bool
	resp  *readinessResponse
}

// evaluateReadiness is the pure rule: ready when the status is one of
// httpStatusCodesForReady.
func evaluateReadiness(c marathon.ReadinessCheck, status int) bool {
	return slices.Contains(c.HTTPStatusCodesForReady, status)
}

// readinessTarget builds the check URL: the agent's address and the host
// port of the port named portName, or the container's address and its
// container port when the port has no host port.
func readinessTarget(c marathon.ReadinessCheck, t *Task, agentIP string) (string, error) {
	for _, p := range t.Spec.Ports {
		if p.Name != c.PortName {
			continue
		}
		scheme := "http"
		if c.Protocol == "HTTPS" {
			scheme = "https"
		}
		host, port := agentIP, p.HostPort
		if port == 0 {
			host, port = t.IPAddress, p.ContainerPort
		}
		if host == "" || port == 0 {
			return "", fmt.Errorf("port %q has no reachable address", c.PortName)
		}
		return scheme + "://" + net.JoinHostPort(host, strconv.Itoa(port)) + c.Path, nil
	}
	return "", fmt.Errorf("the task has no port named %q", c.PortName)
}

// dueProbes lists the readiness checks due now; call with m.mu held.
func (m *Master) dueProbes(now time.Time) []probe {
	var out []probe
	for id, as := range m.apps {
		checks := as.rec.App.Readiness()
		if len(checks) == 0 {
			continue
		}
		for _, t := range as.tasks {
			if t.State != wire.TaskRunning || t.Killing || len(t.Readiness) != len(checks) {
				continue
			}
			ip := "127.0.0.1"
			if ag := m.agents[t.AgentID]; ag != nil && ag.reg.AdvertiseIP != "" {
				ip = ag.reg.AdvertiseIP
			}
			for i, r := range t.Readiness {
				if r.Ready || (r.Next != "" && now.Before(parseTS(r.Next))) {
					continue
				}
				u, err := readinessTarget(checks[i], t, ip)
				out = append(out, probe{appID: id, taskID: t.ID, index: i, check: checks[i], url: u, err: err})
			}
		}
	}
	return out
}

func parseTS(s string) time.Time {
	t, _ := time.Parse(timeFormat, s)
	return t
}

// probeReadiness runs every due readiness check once (concurrently, each
// within its timeoutSeconds) and records the results.
func (m *Master) probeReadiness(ctx context.Context, client *http.Client) {
	m.mu.Lock()
	probes := m.dueProbes(m.now())
	m.mu.Unlock()
	if len(probes) == 0 {
		return
	}
	results := make([]probeResult, len(probes))
	var wg sync.WaitGroup
	for i := range probes {
		if probes[i].err != nil {
			m.log.Warn("master: readiness check has no target", "task", probes[i].taskID, "err", probes[i].err)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = runProbe(ctx, client, probes[i])
		}()
	}
	wg.Wait()
	m.mu.Lock()
	changed := m.recordProbes(probes, results, m.now())
	m.mu.Unlock()
	if changed {
		m.kick()
	}
}

// recordProbes stores probe results on their tasks; call with m.mu held.
func (m *Master) recordProbes(probes []probe, results []probeResult, now time.Time) bool {
	changed := false
	for i, p := range probes {
		as := m.apps[p.appID]
		if as == nil {
			continue
		}
		t := as.tasks[p.taskID]
		if t == nil || p.index >= len(t.Readiness) {
			continue
		}
		r := &t.Readiness[p.index]
		r.Next = ts(now.Add(time.Duration(p.check.IntervalSeconds) * time.Second))
		r.LastResponse = nil
		if p.check.PreserveLastResponse {
			r.LastResponse = results[i].resp
		}
		if results[i].ready && !r.Ready {
			r.Ready, changed = true, true
			m.log.Info("master: task ready", "task", t.ID, "check", p.check.Name)
		}
		t.view = nil
		m.dirty[p.appID] = true
	}
	return changed
}

// runProbe performs one HTTP(S) GET.
func runProbe(ctx context.Context, client *http.Client, p probe) probeResult {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(p.check.TimeoutSeconds)*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return probeResult{}
	}
	res, err := client.Do(req)
	if err != nil {
		return unanswered(p.url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if err != nil { // the body did not arrive within timeoutSeconds
		return unanswered(p.url, err)
	}
	return probeResult{ready: evaluateReadiness(p.check, res.StatusCode),
		resp: &readinessResponse{Status: res.StatusCode, ContentType: res.Header.Get("Content-Type"), Body: string(body)}}
}

// unanswered is a probe without an answer (refused, timed out, TLS
// failure): not ready, with the 504 text/plain response Marathon's
// readiness executor records in that case.
func unanswered(url string, err error) probeResult {
	return probeResult{resp: &readinessResponse{Status: http.StatusGatewayTimeout, ContentType: "text/plain",
		Body: "Berth could not query " + url + ": " + err.Error()}}
}

// newReadinessClient does not verify certificates (Marathon's HTTPS
// readiness checks do not) and never follows redirects.
func newReadinessClient() *http.Client {
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // Marathon semantics
		DisableKeepAlives: true}
	return &http.Client{Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// runReadiness probes until ctx ends; the returned func waits for it.
func (m *Master) runReadiness(ctx context.Context) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		client := newReadinessClient()
		tick := time.NewTicker(min(m.cfg.Interval, time.Second))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				m.probeReadiness(ctx, client)
			}
		}
	}()
	return func() { <-done }
}

// readinessResults are the API results of an app's live current tasks;
// call with m.mu held.
func (m *Master) readinessResults(as *appState) []readinessResult {
	out := []readinessResult{}
	for _, t := range sortedTasks(as.tasks) {
		if terminal(t.State) || t.Killing || t.Generation != as.rec.Generation {
			continue
		}
		for _, r := range t.Readiness {
			out = append(out, r.apiJSON())
		}
	}
	return out
}

// withReadiness fills each current action's readinessCheckResults with
// the results of the app's tasks not ready yet; call with m.mu held.
func (m *Master) withReadiness(d map[string]any) map[string]any {
	acts, _ := d["currentActions"].([]map[string]any)
	for _, a := range acts {
		as := m.apps[fmt.Sprint(a["app"])]
		if as == nil {
			continue
		}
		var pending []readinessResult
		for _, r := range m.readinessResults(as) {
			if !r.Ready {
				pending = append(pending, r)
			}
		}
		if pending != nil {
			a["readinessCheckResults"] = pending
		}
	}
	return d
}
