package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/berth-platform/berth/internal/apiclient"
)

func appsCommand() command {
	return command{name: "apps", summary: "list the apps with their instances and deployments", run: runApps}
}

func appCommand() command {
	return command{name: "app", summary: "show one app: definition summary, tasks, last failure", run: runApp}
}

func runApps(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("berth apps", flag.ContinueOnError)
	var f cliFlags
	f.register(fs, true)
	v, code, ok := cliSetup("apps", "[flags]", 0, fs, &f, args, stdout, stderr)
	if !ok {
		return code
	}
	apps, err := v.client.Apps(ctx)
	if err != nil {
		return v.fail(err)
	}
	if f.json {
		if apps == nil {
			apps = []apiclient.App{}
		}
		return v.printJSON(map[string]any{"apps": apps})
	}
	if len(apps) == 0 {
		fmt.Fprintln(stdout, "no apps")
		return cliExitOK
	}
	cliTable(stdout, cliAppHeader, cliAppRows(apps))
	return cliExitOK
}

func runApp(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("berth app", flag.ContinueOnError)
	var f cliFlags
	f.register(fs, true)
	v, code, ok := cliSetup("app", "ID [flags]", 1, fs, &f, args, stdout, stderr)
	if !ok {
		return code
	}
	app, err := v.client.App(ctx, v.args[0])
	if err != nil {
		return v.fail(err)
	}
	if f.json {
		return v.printJSON(map[string]any{"app": app})
	}
	fmt.Fprint(stdout, cliAppDetail(app, time.Now()))
	return cliExitOK
}
