package main

// Shared pieces of the client verbs (deploy, apps, app, ps, scale, restart,
// destroy, logs, execute, explain, deployments, leader): the flags every
// verb takes, building the API client, printing errors, tables and JSON.
// Every identifier here starts with "cli" so the package's other files can
// never collide with them.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/berth-platform/berth/internal/apiclient"
)

// Exit codes of the client verbs.
const (
	cliExitOK      = 0
	cliExitFailed  = 1 // the API refused, the master is unreachable, a deployment failed or timed out
	cliExitUsage   = 2
	cliDefaultAddr = "http://127.0.0.1:8080"
)

// cliFlags are the flags every client verb takes.
type cliFlags struct {
	master      string
	credentials string
	json        bool
}

// register adds --master, --http-credentials and (when withJSON) --json.
func (f *cliFlags) register(fs *flag.FlagSet, withJSON bool) {
	fs.StringVar(&f.master, "master", cliEnvOr("BERTH_MASTER", cliDefaultAddr), "the master's URL (env BERTH_MASTER)")
	fs.StringVar(&f.credentials, "http-credentials", os.Getenv("BERTH_CREDENTIALS"), "user:pass for HTTP basic auth (env BERTH_CREDENTIALS)")
	if withJSON {
		fs.BoolVar(&f.json, "json", false, "print JSON for scripts instead of a table")
	}
}

// config turns the flags into the client's configuration.
func (f cliFlags) config() (apiclient.Config, error) {
	cfg := apiclient.Config{BaseURL: cliMasterURL(f.master)}
	if f.credentials != "" {
		u, p, ok := strings.Cut(f.credentials, ":")
		if !ok || u == "" {
			return cfg, errors.New("--http-credentials: want user:pass")
		}
		cfg.Username, cfg.Password = u, p
	}
	return cfg, cfg.Validate()
}

// cliMasterURL accepts host:port as shorthand for http://host:port.
func cliMasterURL(s string) string {
	s = strings.TrimSpace(s)
	if s != "" && !strings.Contains(s, "://") {
		return "http://" + s
	}
	return s
}

func cliEnvOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// cliVerb is what a client verb gets once its flags are parsed.
type cliVerb struct {
	name   string
	flags  cliFlags
	args   []string
	client *apiclient.Client
	stdout io.Writer
	stderr io.Writer
}

// cliSetup parses args (flags may come before or after the positional
// arguments), checks the number of positional arguments, and builds the
// client. It returns ok=false with the exit code when the verb must stop.
func cliSetup(name, usage string, nargs int, fs *flag.FlagSet, f *cliFlags, args []string,
	stdout, stderr io.Writer) (v cliVerb, code int, ok bool) {
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: berth %s %s\n\nFlags:\n", name, usage)
		fs.PrintDefaults()
	}
	pos, err := cliParse(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return v, cliExitOK, false
	}
	if err != nil {
		return v, cliExitUsage, false
	}
	if nargs >= 0 && len(pos) != nargs {
		fmt.Fprintf(stderr, "berth %s: want %d argument(s), got %d\n", name, nargs, len(pos))
		fs.Usage()
		return v, cliExitUsage, false
	}
	cfg, err := f.config()
	if err != nil {
		fmt.Fprintf(stderr, "berth %s: %v\n", name, err)
		return v, cliExitUsage, false
	}
	c, err := apiclient.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "berth %s: %v\n", name, err)
		return v, cliExitUsage, false
	}
	return cliVerb{name: name, flags: *f, args: pos, client: c, stdout: stdout, stderr: stderr}, 0, true
}

// cliParse parses flags interspersed with positional arguments; after
// "--" everything is positional.
func cliParse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// fail prints err the way people read API errors and returns the exit code.
func (v cliVerb) fail(err error) int {
	fmt.Fprint(v.stderr, cliFormatError("berth "+v.name, err))
	return cliExitFailed
}

// printJSON writes x indented, for scripts.
func (v cliVerb) printJSON(x any) int {
	enc := json.NewEncoder(v.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(x); err != nil {
		return v.fail(fmt.Errorf("encode JSON: %w", err))
	}
	return cliExitOK
}

// cliFormatError renders an error: for an API error its message and each
// detail's path and errors, one per line.
func cliFormatError(prefix string, err error) string {
	var b strings.Builder
	var ae *apiclient.Error
	if !errors.As(err, &ae) {
		fmt.Fprintf(&b, "%s: %v\n", prefix, err)
		return b.String()
	}
	fmt.Fprintf(&b, "%s: %s (HTTP %d from %s %s)\n", prefix, ae.Message, ae.Status, ae.Method, ae.Path)
	for _, d := range ae.Details {
		fmt.Fprintf(&b, "  %s: %s\n", d.Path, strings.Join(d.Errors, "; "))
	}
	for _, d := range ae.Deployments {
		fmt.Fprintf(&b, "  locked by deployment %s (see 'berth deployments'; --force overrides)\n", d.ID)
	}
	return b.String()
}

// cliTable writes rows under header as aligned columns.
func cliTable(w io.Writer, header []string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

// cliWaitFlags are the flags of verbs that follow a deployment.
type cliWaitFlags struct {
	noWait   bool
	timeout  time.Duration
	interval time.Duration
	force    bool
}

func (w *cliWaitFlags) register(fs *flag.FlagSet, def time.Duration, withForce bool) {
	fs.BoolVar(&w.noWait, "no-wait", false, "return once the master accepted the change")
	fs.DurationVar(&w.timeout, "timeout", def, "how long to follow the deployment before giving up")
	fs.DurationVar(&w.interval, "interval", 500*time.Millisecond, "how often to poll the master")
	if withForce {
		fs.BoolVar(&w.force, "force", false, "override a deployment that locks the app")
	}
}

// validate rejects useless durations.
func (w cliWaitFlags) validate() error {
	if w.timeout <= 0 || w.interval <= 0 {
		return errors.New("--timeout and --interval must be positive")
	}
	return nil
}

// cliRunWait is the common end of deploy, scale, restart and destroy:
// print what the master accepted, then follow the deployment unless
// --no-wait. With --json the outcome goes to stdout and progress to stderr.
// what says what the master accepted ("created", "scaling to 3", …).
func (v cliVerb) runWait(ctx context.Context, wf cliWaitFlags, appID, what string, res apiclient.DeploymentResult, gone bool) int {
	progress := v.stdout
	if v.flags.json {
		progress = v.stderr
	}
	fmt.Fprintf(progress, "%s: %s, deployment %s (version %s)\n", appID, what, cliOr(res.DeploymentID, "-"), cliOr(res.Version, "-"))
	if wf.noWait {
		if v.flags.json {
			return v.printJSON(cliOutcomeJSON{App: appID, DeploymentID: res.DeploymentID, Version: res.Version, Outcome: "accepted"})
		}
		return cliExitOK
	}
	out, err := cliWatch(ctx, v.client, cliWatchConfig{AppID: appID, DeploymentID: res.DeploymentID,
		Timeout: wf.timeout, Interval: wf.interval, Gone: gone}, progress)
	if err != nil {
		return v.fail(err)
	}
	if v.flags.json {
		j := out.json()
		j.Version = res.Version
		if code := v.printJSON(j); code != cliExitOK {
			return code
		}
	} else {
		fmt.Fprint(v.stdout, out.report())
	}
	if out.Kind != cliOutcomeSuccess {
		return cliExitFailed
	}
	return cliExitOK
}

func cliOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
