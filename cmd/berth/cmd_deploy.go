package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/berth-platform/berth/internal/apiclient"
)

func deployCommand() command {
	return command{
		name:    "deploy",
		summary: "create or update an app from a Marathon JSON file and follow its deployment",
		run:     runDeploy,
	}
}

// cliAppID reads the id of a Marathon app definition.
func cliAppID(def []byte) (string, error) {
	var head struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(def, &head); err != nil {
		return "", fmt.Errorf("not a Marathon app (a JSON object): %w", err)
	}
	if head.ID == "" {
		return "", fmt.Errorf(`the app has no "id"`)
	}
	return apiclient.NormalizeID(head.ID), nil
}

func runDeploy(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("berth deploy", flag.ContinueOnError)
	var f cliFlags
	var wf cliWaitFlags
	f.register(fs, true)
	wf.register(fs, 5*time.Minute, true)
	partial := fs.Bool("partial", false, "update only the fields in the file (default: the file replaces the app)")
	v, code, ok := cliSetup("deploy", "FILE.json|- [flags]", 1, fs, &f, args, stdout, stderr)
	if !ok {
		return code
	}
	if err := wf.validate(); err != nil {
		fmt.Fprintf(stderr, "berth deploy: %v\n", err)
		return cliExitUsage
	}
	def, err := cliReadFile(v.args[0])
	if err != nil {
		return v.fail(err)
	}
	id, err := cliAppID(def)
	if err != nil {
		return v.fail(fmt.Errorf("%s: %w", v.args[0], err))
	}
	what := "created"
	res, err := v.client.CreateApp(ctx, def)
	if apiclient.IsConflict(err) && !cliLocked(err) {
		// The app exists: update it.
		what = "updated"
		res, err = v.client.UpdateApp(ctx, id, def, apiclient.UpdateOptions{Partial: *partial, Force: wf.force})
	}
	if err != nil {
		return v.fail(err)
	}
	return v.runWait(ctx, wf, id, what, res, false)
}

// cliLocked reports whether a 409 is about a deployment lock (rather than
// the app already existing).
func cliLocked(err error) bool {
	var ae *apiclient.Error
	return errors.As(err, &ae) && len(ae.Deployments) > 0
}

// cliReadFile reads a file, or stdin for "-".
func cliReadFile(path string) ([]byte, error) {
	if path == "-" {
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return nil, fmt.Errorf("read stdin: %w", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read app definition: %w", err)
	}
	return b, nil
}
