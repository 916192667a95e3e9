// Command berth is the single binary of the Berth platform: the master, the
// agent, the registrator, lbsync, the all-in-one dev mode and the client verbs.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand. Run parses its own flags from args, builds what
// it needs, and returns the process exit code; ctx is cancelled on SIGINT or
// SIGTERM.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// commands lists every subcommand. Each lives in its own cmd_<name>.go file.
func commands() []command {
	cmds := []command{
		versionCommand(),
		registratorCommand(),
		devCommand(),
		masterCommand(),
		agentCommand(),
		deployCommand(),
		appsCommand(),
		appCommand(),
		psCommand(),
		scaleCommand(),
		restartCommand(),
		destroyCommand(),
		logsCommand(),
		executeCommand(),
		explainCommand(),
		deploymentsCommand(),
		leaderCommand(),
		groupsCommand(),
		jobsCommand(),
		jobCommand(),
		lbsyncCommand(),
		routesCommand(),
	}
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	return cmds
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "berth: unknown command %q (see 'berth --help')\n", args[0])
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "berth — deploy apps onto a cluster and make them reachable.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: berth <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'berth <command> --help' for a command's flags.")
}
