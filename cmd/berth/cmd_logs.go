package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/berth-platform/berth/internal/apiclient"
)

func logsCommand() command {
	return command{name: "logs", summary: "print a task's stdout (or --stderr) through the master; -f follows", run: runLogs}
}

func runLogs(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("berth logs", flag.ContinueOnError)
	var f cliFlags
	f.register(fs, false)
	var follow, errStream bool
	fs.BoolVar(&follow, "f", false, "follow: keep printing new output until the task ends or Ctrl-C")
	fs.BoolVar(&follow, "follow", false, "same as -f")
	fs.BoolVar(&errStream, "stderr", false, "print the task's stderr instead of its stdout")
	v, code, ok := cliSetup("logs", "TASK [-f] [--stderr] [flags]", 1, fs, &f, args, stdout, stderr)
	if !ok {
		return code
	}
	opts := apiclient.LogOptions{Stream: "stdout", Follow: follow}
	if errStream {
		opts.Stream = "stderr"
	}
	if err := cliCopyLogs(ctx, v.client, v.args[0], opts, stdout); err != nil {
		if ctx.Err() != nil {
			return cliExitOK // Ctrl-C while following
		}
		code := v.fail(err)
		var ae *apiclient.Error
		if errors.As(err, &ae) && ae.Status == 404 && ae.Message == "404 page not found" {
			fmt.Fprintln(stderr, "  (this master does not serve task logs at GET /v2/tasks/{taskId}/logs)")
		}
		return code
	}
	return cliExitOK
}

// cliCopyLogs copies a task's stream to w: with Follow one streaming
// answer, otherwise chunk after chunk until an empty one.
func cliCopyLogs(ctx context.Context, c *apiclient.Client, taskID string, opts apiclient.LogOptions, w io.Writer) error {
	for {
		l, err := c.TaskLogs(ctx, taskID, opts)
		if err != nil {
			return err
		}
		n, err := io.Copy(w, l.Body)
		l.Body.Close()
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("logs of %s: %w", taskID, err)
		}
		if opts.Follow || n == 0 {
			return nil
		}
		next := l.Next
		if next <= opts.Offset {
			next = opts.Offset + n
		}
		opts.Offset = next
	}
}
