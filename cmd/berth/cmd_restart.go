package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/berth-platform/berth/internal/apiclient"
)

func restartCommand() command {
	return command{name: "restart", summary: "replace every task of an app (rolling) and follow the deployment", run: runRestart}
}

func runRestart(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("berth restart", flag.ContinueOnError)
	var f cliFlags
	var wf cliWaitFlags
	f.register(fs, true)
	wf.register(fs, 5*time.Minute, true)
	v, code, ok := cliSetup("restart", "ID [flags]", 1, fs, &f, args, stdout, stderr)
	if !ok {
		return code
	}
	if err := wf.validate(); err != nil {
		fmt.Fprintf(stderr, "berth restart: %v\n", err)
		return cliExitUsage
	}
	id := apiclient.NormalizeID(v.args[0])
	res, err := v.client.Restart(ctx, id, wf.force)
	if err != nil {
		return v.fail(err)
	}
	return v.runWait(ctx, wf, id, "restarting", res, false)
}
