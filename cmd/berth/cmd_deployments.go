package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/berth-platform/berth/internal/apiclient"
)

func deploymentsCommand() command {
	return command{name: "deployments", summary: "list the running deployments", run: runDeployments}
}

func runDeployments(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("berth deployments", flag.ContinueOnError)
	var f cliFlags
	f.register(fs, true)
	v, code, ok := cliSetup("deployments", "[flags]", 0, fs, &f, args, stdout, stderr)
	if !ok {
		return code
	}
	ds, err := v.client.Deployments(ctx)
	if err != nil {
		return v.fail(err)
	}
	if f.json {
		if ds == nil {
			ds = []apiclient.Deployment{}
		}
		return v.printJSON(ds)
	}
	if len(ds) == 0 {
		fmt.Fprintln(stdout, "no deployments running")
		return cliExitOK
	}
	cliTable(stdout, cliDeploymentHeader, cliDeploymentRows(ds))
	return cliExitOK
}
