package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/berth-platform/berth/internal/apiclient"
)

func groupsCommand() command {
	return command{name: "groups", summary: "show the group tree (or one group) with its apps and dependencies", run: runGroups}
}

func runGroups(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("berth groups", flag.ContinueOnError)
	var f cliFlags
	f.register(fs, true)
	v, code, ok := cliSetup("groups", "[GROUP-ID] [flags]", -1, fs, &f, args, stdout, stderr)
	if !ok {
		return code
	}
	if len(v.args) > 1 {
		fmt.Fprintf(stderr, "berth groups: want at most 1 argument, got %d\n", len(v.args))
		return cliExitUsage
	}
	id := "/"
	if len(v.args) == 1 {
		id = apiclient.NormalizeID(v.args[0])
	}
	g, err := v.client.Group(ctx, id)
	if err != nil {
		return v.fail(err)
	}
	if f.json {
		return v.printJSON(g)
	}
	cliTable(stdout, cliGroupHeader, cliGroupRows(g))
	return cliExitOK
}

var cliGroupHeader = []string{"ID", "RUNNING", "HEALTHY", "DEPENDS ON", "DEPLOYING"}

// cliGroupRows are `berth groups` rows: the tree depth-first, groups
// before their apps, ids indented by depth.
func cliGroupRows(g *apiclient.Group) [][]string {
	var rows [][]string
	var walk func(g *apiclient.Group, depth int)
	walk = func(g *apiclient.Group, depth int) {
		indent := strings.Repeat("  ", depth)
		name := g.ID
		if name != "/" {
			name += "/"
		}
		rows = append(rows, []string{indent + name, "", "", cliOr(strings.Join(g.Dependencies, ","), "-"), ""})
		for _, a := range g.Apps {
			healthy := "-"
			if len(a.HealthChecks) > 0 {
				healthy = fmt.Sprintf("%d/%d", a.TasksHealthy, a.Instances)
			}
			deploying := "-"
			if len(a.Deployments) > 0 {
				deploying = "yes"
			}
			rows = append(rows, []string{indent + "  " + a.ID, fmt.Sprintf("%d/%d", a.TasksRunning, a.Instances),
				healthy, cliOr(strings.Join(appDependencies(a), ","), "-"), deploying})
		}
		for i := range g.Groups {
			walk(&g.Groups[i], depth+1)
		}
	}
	walk(g, 0)
	return rows
}

// appDependencies reads an app's dependencies from its JSON.
func appDependencies(a apiclient.App) []string {
	var d struct {
		Dependencies []string `json:"dependencies"`
	}
	_ = json.Unmarshal(a.Raw, &d)
	return d.Dependencies
}
