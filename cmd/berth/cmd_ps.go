package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/berth-platform/berth/internal/apiclient"
)

func psCommand() command {
	return command{name: "ps", summary: "list tasks: id, app, agent, host:ports, state, health, age", run: runPs}
}

func runPs(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("berth ps", flag.ContinueOnError)
	var f cliFlags
	f.register(fs, true)
	appID := fs.String("app", "", "only the tasks of this app")
	v, code, ok := cliSetup("ps", "[--app ID] [flags]", 0, fs, &f, args, stdout, stderr)
	if !ok {
		return code
	}
	var tasks []apiclient.Task
	var err error
	if *appID != "" {
		tasks, err = v.client.AppTasks(ctx, *appID)
	} else {
		tasks, err = v.client.Tasks(ctx)
	}
	if err != nil {
		return v.fail(err)
	}
	if *appID == "" { // job runs too (cmd_job.go); a master without jobs has none
		if jt, err := v.client.JobTasks(ctx); err == nil {
			tasks = append(tasks, jt...)
		}
	}
	if f.json {
		if tasks == nil {
			tasks = []apiclient.Task{}
		}
		return v.printJSON(map[string]any{"tasks": tasks})
	}
	if len(tasks) == 0 {
		fmt.Fprintln(stdout, "no tasks")
		return cliExitOK
	}
	cliTable(stdout, cliTaskHeader, cliTaskRows(tasks, time.Now()))
	return cliExitOK
}
