package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/berth-platform/berth/internal/apiclient"
)

func explainCommand() command {
	return command{name: "explain", summary: "say why an app's instances are not placed (or that all are)", run: runExplain}
}

// cliExplainJSON is the stable shape of `berth explain --json`.
type cliExplainJSON struct {
	App         string                `json:"app"`
	Instances   int                   `json:"instances"`
	Unplaced    int                   `json:"unplaced"`
	Explanation string                `json:"explanation"`
	Queue       *apiclient.QueueEntry `json:"queue"`
}

func runExplain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("berth explain", flag.ContinueOnError)
	var f cliFlags
	f.register(fs, true)
	v, code, ok := cliSetup("explain", "ID [flags]", 1, fs, &f, args, stdout, stderr)
	if !ok {
		return code
	}
	app, err := v.client.App(ctx, v.args[0])
	if err != nil {
		return v.fail(err)
	}
	q, err := v.client.Queue(ctx)
	if err != nil {
		return v.fail(err)
	}
	var entry *apiclient.QueueEntry
	for i := range q {
		if q[i].App.ID == app.ID {
			entry = &q[i]
		}
	}
	if f.json {
		j := cliExplainJSON{App: app.ID, Instances: app.Instances, Queue: entry,
			Explanation: fmt.Sprintf("all %d instances placed", app.Instances)}
		if entry != nil {
			j.Unplaced, j.Explanation = entry.Count, cliEntryExplanation(entry)
		}
		return v.printJSON(j)
	}
	fmt.Fprint(stdout, cliExplainText(app, entry))
	return cliExitOK
}
