package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/berth-platform/berth/internal/apiclient"
)

func executeCommand() command {
	return command{
		name:    "execute",
		summary: "run a one-off task (like mesos-execute), show its final state, then remove it",
		run:     runExecute,
	}
}

// cliExecuteOpts describe a one-off task.
type cliExecuteOpts struct {
	name, command, image string
	cpus, mem            float64
}

func (o cliExecuteOpts) validate() error {
	switch {
	case o.name == "":
		return errors.New("--name is required")
	case o.command == "":
		return errors.New("--command is required")
	case o.cpus <= 0 || o.mem <= 0:
		return errors.New("--cpus and --mem must be positive")
	}
	return nil
}

// cliExecuteApp is the app a one-off task runs as: one instance, no
// ports, and a long launch backoff so that the master does not start it
// again (Marathon restarts finished tasks) before we remove the app.
func cliExecuteApp(o cliExecuteOpts) ([]byte, error) {
	app := map[string]any{
		"id": apiclient.NormalizeID(o.name), "cmd": o.command, "instances": 1, "cpus": o.cpus, "mem": o.mem,
		"portDefinitions": []any{}, "backoffSeconds": 300, "maxLaunchDelaySeconds": 300,
		"labels": map[string]string{"berth.execute": "true"},
	}
	if o.image != "" {
		app["container"] = map[string]any{"type": "DOCKER", "docker": map[string]any{"image": o.image}}
	}
	return json.Marshal(app)
}

// cliExecuteResult is how a one-off task ended (also its --json shape).
type cliExecuteResult struct {
	App     string `json:"app"`
	TaskID  string `json:"taskId,omitempty"`
	State   string `json:"state"` // TASK_* or "TIMEOUT"
	Message string `json:"message,omitempty"`
	Host    string `json:"host,omitempty"`
	Agent   string `json:"agent,omitempty"`
	// Explanation is the placement explanation when the task never ended.
	Explanation string `json:"explanation,omitempty"`
}

// cliExecuteStep looks at one poll of the app: the lines to print for
// task state changes (seen is updated) and, once the task has ended, the
// result. A task that vanished without a recorded failure ended in an
// unknown state (e.g. killed).
func cliExecuteStep(app *apiclient.App, seen map[string]string) ([]string, *cliExecuteResult) {
	var lines []string
	current := map[string]bool{}
	for _, t := range app.Tasks {
		current[t.ID] = true
		if seen[t.ID] != t.State {
			lines = append(lines, fmt.Sprintf("task %s %s on %s", t.ID, cliState(t.State), cliHostPorts(t)))
			seen[t.ID] = t.State
		}
	}
	if f := app.LastTaskFailure; f != nil {
		return lines, &cliExecuteResult{App: app.ID, TaskID: f.TaskID, State: f.State, Message: f.Message,
			Host: f.Host, Agent: f.SlaveID}
	}
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if !current[id] {
			return lines, &cliExecuteResult{App: app.ID, TaskID: id, State: "TASK_UNKNOWN",
				Message: "the task ended without a recorded state (killed?)"}
		}
	}
	return lines, nil
}

// text is the result for people.
func (r cliExecuteResult) text() string {
	if r.State == "TIMEOUT" {
		s := fmt.Sprintf("%s: the task did not end in time", r.App)
		if r.Explanation != "" {
			s += "\n  placement: " + r.Explanation
		}
		return s + "\n"
	}
	s := fmt.Sprintf("task %s %s", cliOr(r.TaskID, "-"), cliState(r.State))
	if r.Host != "" {
		s += " on " + r.Host
	}
	if r.Message != "" {
		s += ": " + r.Message
	}
	return s + "\n"
}

func runExecute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("berth execute", flag.ContinueOnError)
	var f cliFlags
	f.register(fs, true)
	var o cliExecuteOpts
	fs.StringVar(&o.name, "name", "", "the task's name (its app id)")
	fs.StringVar(&o.command, "command", "", "the shell command to run")
	fs.StringVar(&o.image, "image", "", "run in this Docker image (default: a process on the agent)")
	fs.Float64Var(&o.cpus, "cpus", 0.1, "cpus for the task")
	fs.Float64Var(&o.mem, "mem", 32, "memory for the task, MiB")
	timeout := fs.Duration("timeout", 5*time.Minute, "how long to wait for the task to end")
	interval := fs.Duration("interval", 300*time.Millisecond, "how often to poll the master")
	keep := fs.Bool("keep", false, "keep the app once the task ended (default: remove it)")
	v, code, ok := cliSetup("execute", "--name N --command CMD [--image IMG] [flags]", 0, fs, &f, args, stdout, stderr)
	if !ok {
		return code
	}
	if err := o.validate(); err != nil {
		fmt.Fprintf(stderr, "berth execute: %v\n", err)
		return cliExitUsage
	}
	def, err := cliExecuteApp(o)
	if err != nil {
		return v.fail(err)
	}
	id := apiclient.NormalizeID(o.name)
	progress := stdout
	if f.json {
		progress = stderr
	}
	if _, err := v.client.CreateApp(ctx, def); err != nil {
		return v.fail(err)
	}
	fmt.Fprintf(progress, "%s: submitted\n", id)
	res, err := cliExecuteWait(ctx, v.client, id, *timeout, *interval, progress)
	if !*keep {
		cliExecuteRemove(ctx, v, id)
	}
	if err != nil {
		return v.fail(err)
	}
	if f.json {
		if code := v.printJSON(res); code != cliExitOK {
			return code
		}
	} else {
		fmt.Fprint(stdout, res.text())
	}
	if res.State != "TASK_FINISHED" {
		return cliExitFailed
	}
	return cliExitOK
}

// cliExecuteRemove removes the one-off task's app, even after Ctrl-C.
func cliExecuteRemove(ctx context.Context, v cliVerb, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if _, err := v.client.Destroy(ctx, id); err != nil && !apiclient.IsNotFound(err) {
		fmt.Fprint(v.stderr, cliFormatError("berth execute: remove "+id, err))
	}
}

// cliExecuteWait polls the app until its task ended or timeout passes.
func cliExecuteWait(ctx context.Context, c *apiclient.Client, id string, timeout, interval time.Duration,
	progress io.Writer) (cliExecuteResult, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	seen := map[string]string{}
	for {
		app, err := c.App(ctx, id)
		if err != nil {
			return cliExecuteResult{}, err
		}
		lines, res := cliExecuteStep(app, seen)
		for _, l := range lines {
			fmt.Fprintln(progress, "  "+l)
		}
		if res != nil {
			return *res, nil
		}
		select {
		case <-ctx.Done():
			return cliExecuteResult{}, errors.New("interrupted")
		case <-deadline.C:
			return cliExecuteResult{App: id, State: "TIMEOUT", Explanation: cliQueueExplanation(ctx, c, id)}, nil
		case <-tick.C:
		}
	}
}
