package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/berth-platform/berth/internal/apiclient"
)

// cliWatchConfig says which deployment to follow.
type cliWatchConfig struct {
	AppID        string
	DeploymentID string // "" = any deployment of the app
	Timeout      time.Duration
	Interval     time.Duration
	// Gone: success is the app no longer existing (destroy).
	Gone bool
}

// cliOutcomeKind is how following a deployment ended.
type cliOutcomeKind string

const (
	cliOutcomeSuccess cliOutcomeKind = "success"
	cliOutcomeFailed  cliOutcomeKind = "failed"
	cliOutcomeTimeout cliOutcomeKind = "timeout"
)

// cliObservation is what one poll saw.
type cliObservation struct {
	App        *apiclient.App        // nil: the app does not exist (404)
	Deployment *apiclient.Deployment // the followed deployment, nil once it is gone
}

// cliVerdict is cliJudge's answer about one observation.
type cliVerdict struct {
	Done   bool
	Kind   cliOutcomeKind
	Reason string
}

// cliJudge decides from one observation whether the deployment is over
// and how it went. A deployment is over when the master no longer lists
// it: then an app that must exist has to run (and, with health checks,
// pass) all its instances, and an app being destroyed must be gone.
func cliJudge(cfg cliWatchConfig, o cliObservation) cliVerdict {
	if o.Deployment != nil {
		if !cfg.Gone && o.App == nil {
			return cliVerdict{Done: true, Kind: cliOutcomeFailed, Reason: "the app was removed while deploying"}
		}
		return cliVerdict{}
	}
	if cfg.Gone {
		if o.App == nil {
			return cliVerdict{Done: true, Kind: cliOutcomeSuccess}
		}
		return cliVerdict{Done: true, Kind: cliOutcomeFailed,
			Reason: "the deployment ended but the app still exists (cancelled or replaced by another deployment?)"}
	}
	if o.App == nil {
		return cliVerdict{Done: true, Kind: cliOutcomeFailed, Reason: "the app no longer exists"}
	}
	a := o.App
	if a.TasksRunning < a.Instances {
		hint := "cancelled or replaced by another deployment?"
		if f := a.LastTaskFailure; f != nil && f.Version == a.Version {
			hint = "tasks of this version fail after starting"
		}
		return cliVerdict{Done: true, Kind: cliOutcomeFailed, Reason: fmt.Sprintf(
			"the deployment ended with %d/%d instances running (%s)", a.TasksRunning, a.Instances, hint)}
	}
	if len(a.HealthChecks) > 0 && a.TasksHealthy < a.Instances {
		return cliVerdict{Done: true, Kind: cliOutcomeFailed, Reason: fmt.Sprintf(
			"the deployment ended with %d/%d instances healthy", a.TasksHealthy, a.Instances)}
	}
	return cliVerdict{Done: true, Kind: cliOutcomeSuccess}
}

// cliProgressLine is one line of a deployment's progress.
func cliProgressLine(id string, app *apiclient.App, d *apiclient.Deployment) string {
	return id + ": " + cliProgressBody(app, d)
}

// cliProgressBody is the instance counts (and the deployment's current
// actions): "2/3 running, 1 staged, 2/3 healthy — RestartApplication (step 1/1)".
func cliProgressBody(app *apiclient.App, d *apiclient.Deployment) string {
	var b strings.Builder
	if app == nil {
		b.WriteString("removed")
	} else {
		fmt.Fprintf(&b, "%d/%d running", app.TasksRunning, app.Instances)
		if app.TasksStaged > 0 {
			fmt.Fprintf(&b, ", %d staged", app.TasksStaged)
		}
		if len(app.HealthChecks) > 0 {
			fmt.Fprintf(&b, ", %d/%d healthy", app.TasksHealthy, app.Instances)
			if app.TasksUnhealthy > 0 {
				fmt.Fprintf(&b, ", %d unhealthy", app.TasksUnhealthy)
			}
		}
	}
	if d != nil {
		var acts []string
		for _, a := range d.CurrentActions {
			acts = append(acts, a.Action)
		}
		fmt.Fprintf(&b, " — %s (step %d/%d)", cliOr(strings.Join(acts, ","), "waiting"), d.CurrentStep, d.TotalSteps)
	}
	return b.String()
}

// cliFailureLine describes a lastTaskFailure.
func cliFailureLine(f *apiclient.TaskFailure) string {
	msg := f.Message
	if msg == "" {
		msg = "(no message)"
	}
	return fmt.Sprintf("task %s %s on %s at %s: %s", f.TaskID, cliState(f.State), cliOr(f.Host, "?"), f.Timestamp, msg)
}

// cliOutcome is how following a deployment ended.
type cliOutcome struct {
	Kind         cliOutcomeKind
	AppID        string
	DeploymentID string
	Reason       string
	App          *apiclient.App // last seen; nil when gone
	Explanation  string         // the queue's placement explanation, on failure
	Elapsed      time.Duration
	Gone         bool
}

// report is the outcome for people.
func (o cliOutcome) report() string {
	var b strings.Builder
	el := o.Elapsed.Round(100 * time.Millisecond)
	switch {
	case o.Kind == cliOutcomeSuccess && o.Gone:
		fmt.Fprintf(&b, "%s: destroyed (%s)\n", o.AppID, el)
	case o.Kind == cliOutcomeSuccess:
		fmt.Fprintf(&b, "%s: deployed in %s — %s\n", o.AppID, el, cliProgressBody(o.App, nil))
	case o.Kind == cliOutcomeTimeout:
		fmt.Fprintf(&b, "%s: deployment %s not done after %s; it goes on on the master\n", o.AppID, cliOr(o.DeploymentID, "-"), el)
	default:
		fmt.Fprintf(&b, "%s: deployment %s failed: %s\n", o.AppID, cliOr(o.DeploymentID, "-"), o.Reason)
	}
	if o.Kind == cliOutcomeSuccess {
		return b.String()
	}
	if o.App != nil {
		fmt.Fprintf(&b, "  now: %s\n", cliProgressLine(o.AppID, o.App, nil))
		if o.App.LastTaskFailure != nil {
			fmt.Fprintf(&b, "  last task failure: %s\n", cliFailureLine(o.App.LastTaskFailure))
		}
	}
	if o.Explanation != "" {
		fmt.Fprintf(&b, "  placement: %s\n", o.Explanation)
	}
	return b.String()
}

// cliOutcomeJSON is the stable shape `--json` prints for deploy, scale,
// restart and destroy.
type cliOutcomeJSON struct {
	App             string                 `json:"app"`
	DeploymentID    string                 `json:"deploymentId"`
	Version         string                 `json:"version,omitempty"`
	Outcome         string                 `json:"outcome"` // accepted, success, failed, timeout
	Reason          string                 `json:"reason,omitempty"`
	Instances       int                    `json:"instances"`
	Running         int                    `json:"running"`
	Staged          int                    `json:"staged"`
	Healthy         int                    `json:"healthy"`
	ElapsedSeconds  float64                `json:"elapsedSeconds"`
	LastTaskFailure *apiclient.TaskFailure `json:"lastTaskFailure,omitempty"`
	Explanation     string                 `json:"explanation,omitempty"`
}

func (o cliOutcome) json() cliOutcomeJSON {
	j := cliOutcomeJSON{App: o.AppID, DeploymentID: o.DeploymentID, Outcome: string(o.Kind), Reason: o.Reason,
		ElapsedSeconds: o.Elapsed.Seconds(), Explanation: o.Explanation}
	if a := o.App; a != nil {
		j.Instances, j.Running, j.Staged, j.Healthy = a.Instances, a.TasksRunning, a.TasksStaged, a.TasksHealthy
		j.LastTaskFailure = a.LastTaskFailure
	}
	return j
}

// cliObserve reads the deployment list, then the app (in that order, so
// an app read after its deployment is gone shows the final state).
func cliObserve(ctx context.Context, c *apiclient.Client, cfg cliWatchConfig) (cliObservation, error) {
	var o cliObservation
	ds, err := c.Deployments(ctx)
	if err != nil {
		return o, err
	}
	for i := range ds {
		d := &ds[i]
		if d.ID == cfg.DeploymentID || (cfg.DeploymentID == "" && cliContains(d.AffectedApps, cfg.AppID)) {
			o.Deployment = d
			break
		}
	}
	app, err := c.App(ctx, cfg.AppID)
	if apiclient.IsNotFound(err) {
		return o, nil
	}
	o.App = app
	return o, err
}

// cliWatch follows a deployment, printing a progress line whenever it
// changes and each new task failure, until it is over or cfg.Timeout
// passes. A failed verdict must be seen on two polls in a row.
func cliWatch(ctx context.Context, c *apiclient.Client, cfg cliWatchConfig, progress io.Writer) (cliOutcome, error) {
	start := time.Now()
	out := cliOutcome{AppID: cfg.AppID, DeploymentID: cfg.DeploymentID, Gone: cfg.Gone}
	deadline := time.NewTimer(cfg.Timeout)
	defer deadline.Stop()
	tick := time.NewTicker(cfg.Interval)
	defer tick.Stop()
	var lastLine, lastFailure string
	strikes := 0
	for first := true; ; first = false {
		if !first {
			select {
			case <-ctx.Done():
				return out, fmt.Errorf("interrupted; deployment %s goes on on the master", cliOr(cfg.DeploymentID, "-"))
			case <-deadline.C:
				out.Kind, out.Elapsed = cliOutcomeTimeout, time.Since(start)
				out.Explanation = cliQueueExplanation(ctx, c, cfg.AppID)
				return out, nil
			case <-tick.C:
			}
		}
		o, err := cliObserve(ctx, c, cfg)
		if err != nil {
			return out, err
		}
		out.App = o.App
		if line := cliProgressLine(cfg.AppID, o.App, o.Deployment); line != lastLine {
			fmt.Fprintln(progress, "  "+line)
			lastLine = line
		}
		if o.App != nil && o.App.LastTaskFailure != nil {
			f := o.App.LastTaskFailure.TaskID + o.App.LastTaskFailure.Timestamp
			if !first && f != lastFailure {
				fmt.Fprintln(progress, "  "+cliFailureLine(o.App.LastTaskFailure))
			}
			lastFailure = f
		}
		v := cliJudge(cfg, o)
		if !v.Done || (v.Kind == cliOutcomeFailed && strikes == 0) {
			if v.Done {
				strikes++
			} else {
				strikes = 0
			}
			continue
		}
		out.Kind, out.Reason, out.Elapsed = v.Kind, v.Reason, time.Since(start)
		if v.Kind != cliOutcomeSuccess {
			out.Explanation = cliQueueExplanation(ctx, c, cfg.AppID)
		}
		return out, nil
	}
}

// cliQueueExplanation is the queue's placement explanation for an app, ""
// when it is not queued; a failure to read the queue is said in the text.
func cliQueueExplanation(ctx context.Context, c *apiclient.Client, appID string) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	q, err := c.Queue(ctx)
	if err != nil {
		return "(could not read the launch queue: " + err.Error() + ")"
	}
	for i := range q {
		if q[i].App.ID == appID {
			return cliEntryExplanation(&q[i])
		}
	}
	return ""
}

func cliContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
