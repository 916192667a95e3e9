package scale

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// printTable prints the median of every figure over the runs, with each
// run's value, to stdout (go test -v shows it; make scale keeps it).
func printTable(t *testing.T, p profile, runs []figures) {
	var names []string
	for k := range runs[0] {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "\nscale profile %q: %d simulated agents, %d apps, %d tasks; median of %d runs (%s, %d cores, %s)\n",
		p.name, p.agents, p.apps, p.apps*p.perApp, len(runs), host, runtime.NumCPU(), runtime.Version())
	fmt.Fprintf(&b, "%-46s %12s   %s\n", "figure", "median", "runs")
	for _, n := range names {
		var v []float64
		var each []string
		for _, r := range runs {
			v = append(v, r[n])
			each = append(each, fmt.Sprintf("%.1f", r[n]))
		}
		fmt.Fprintf(&b, "%-46s %12.1f   %s\n", n, median(v), strings.Join(each, " / "))
	}
	t.Log(b.String())
}
