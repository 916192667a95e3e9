package chaos

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Profile sizes a run: fast for `go test ./chaos/`, full for `make chaos`.
type Profile struct {
	Name          string
	AgentRestarts int           // scenario (a): agent restarts
	ConsulKills   int           // scenario (b): Consul kill/restart rounds
	ConsulDown    time.Duration // how long Consul stays down each round
}

// ProfileFromEnv reads BERTH_CHAOS: "fast" (or unset) or "full".
func ProfileFromEnv() (Profile, error) {
	switch v := os.Getenv("BERTH_CHAOS"); v {
	case "", "fast":
		return Profile{Name: "fast", AgentRestarts: 3, ConsulKills: 1, ConsulDown: 3 * time.Second}, nil
	case "full":
		return Profile{Name: "full", AgentRestarts: 10, ConsulKills: 3, ConsulDown: 10 * time.Second}, nil
	default:
		return Profile{}, fmt.Errorf("BERTH_CHAOS=%q: want fast or full", v)
	}
}

// Row is one scenario's line of the table.
type Row struct {
	Scenario string
	Faults   int
	Sent     int64
	Elapsed  time.Duration // how long the load ran
	Failed   int64
	// FailedRestoring are the failed requests sent while a restarted
	// Consul's catalog was being restored (Consul scenario only).
	FailedRestoring int64
	// Lost and duplicated apps, tasks and servicePorts after the faults.
	AppsLost, AppsDup, TasksLost, TasksDup, PortsLost, PortsDup int
	Recovery                                                    []time.Duration
}

// Rate is the achieved requests per second.
func (r Row) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Sent) / r.Elapsed.Seconds()
}

// Percentile is the nearest-rank p-th percentile (0 < p ≤ 100) of d; zero
// for an empty d.
func Percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := int(p/100*float64(len(s))+0.999999) - 1
	return s[max(0, min(rank, len(s)-1))]
}

// WriteTable prints rows as one aligned table.
func WriteTable(w io.Writer, rows []Row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tfaults\trequests\treq/s\tfailed\tof which restoring\tapps lost/dup\ttasks lost/dup\tservicePorts lost/dup\trecovery p50\trecovery p99")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%d\t%d\t%d/%d\t%d/%d\t%d/%d\t%s\t%s\n", r.Scenario, r.Faults, r.Sent, r.Rate(), r.Failed, r.FailedRestoring,
			r.AppsLost, r.AppsDup, r.TasksLost, r.TasksDup, r.PortsLost, r.PortsDup,
			fmtDur(Percentile(r.Recovery, 50)), fmtDur(Percentile(r.Recovery, 99)))
	}
	return tw.Flush()
}

// TableString is WriteTable into a string.
func TableString(rows []Row) string {
	var b strings.Builder
	WriteTable(&b, rows)
	return b.String()
}

func fmtDur(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

// Diff counts what is lost (in before, not after) and duplicated (more
// often in after than in before) between two multisets of keys.
func Diff(before, after []string) (lost, dup int) {
	count := map[string]int{}
	for _, k := range before {
		count[k]++
	}
	for _, k := range after {
		count[k]--
	}
	for _, n := range count {
		if n > 0 {
			lost += n
		} else {
			dup -= n
		}
	}
	return lost, dup
}
