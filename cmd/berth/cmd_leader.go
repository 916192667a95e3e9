package main

import (
	"context"
	"flag"
	"fmt"
	"io"
)

func leaderCommand() command {
	return command{name: "leader", summary: "print the leading master's host:port", run: runLeader}
}

func runLeader(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("berth leader", flag.ContinueOnError)
	var f cliFlags
	f.register(fs, true)
	v, code, ok := cliSetup("leader", "[flags]", 0, fs, &f, args, stdout, stderr)
	if !ok {
		return code
	}
	l, err := v.client.Leader(ctx)
	if err != nil {
		return v.fail(err)
	}
	if f.json {
		return v.printJSON(map[string]string{"leader": l})
	}
	fmt.Fprintln(stdout, l)
	return cliExitOK
}
