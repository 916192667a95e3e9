package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/berth-platform/berth/internal/apiclient"
)

func destroyCommand() command {
	return command{name: "destroy", summary: "stop every task of an app and remove it", run: runDestroy}
}

func runDestroy(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("berth destroy", flag.ContinueOnError)
	var f cliFlags
	var wf cliWaitFlags
	f.register(fs, true)
	wf.register(fs, 2*time.Minute, false)
	v, code, ok := cliSetup("destroy", "ID [flags]", 1, fs, &f, args, stdout, stderr)
	if !ok {
		return code
	}
	if err := wf.validate(); err != nil {
		fmt.Fprintf(stderr, "berth destroy: %v\n", err)
		return cliExitUsage
	}
	id := apiclient.NormalizeID(v.args[0])
	res, err := v.client.Destroy(ctx, id)
	if err != nil {
		return v.fail(err)
	}
	return v.runWait(ctx, wf, id, "destroying", res, true)
}
