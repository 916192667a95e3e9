package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/berth-platform/berth/internal/apiclient"
)

func scaleCommand() command {
	return command{name: "scale", summary: "set an app's number of instances and follow the deployment", run: runScale}
}

func runScale(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("berth scale", flag.ContinueOnError)
	var f cliFlags
	var wf cliWaitFlags
	f.register(fs, true)
	wf.register(fs, 5*time.Minute, true)
	v, code, ok := cliSetup("scale", "ID N [flags]", 2, fs, &f, args, stdout, stderr)
	if !ok {
		return code
	}
	n, err := strconv.Atoi(v.args[1])
	if err != nil || n < 0 {
		fmt.Fprintf(stderr, "berth scale: instances %q: want a number ≥ 0\n", v.args[1])
		return cliExitUsage
	}
	if err := wf.validate(); err != nil {
		fmt.Fprintf(stderr, "berth scale: %v\n", err)
		return cliExitUsage
	}
	id := apiclient.NormalizeID(v.args[0])
	res, err := v.client.Scale(ctx, id, n, wf.force)
	if err != nil {
		return v.fail(err)
	}
	return v.runWait(ctx, wf, id, "scaling to "+strconv.Itoa(n), res, false)
}
