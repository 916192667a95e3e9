package scale

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/simagent"
	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/internal/wire"
)

// profile is one size of the measurement.
type profile struct {
	name                 string
	agents, apps, perApp int
	runs                 int
}

// profileFromEnv reads BERTH_SCALE: "full" (10,000 agents, 10,000 apps,
// 1,000,000 tasks), "fast" (the default: 1,000 / 1,000 / 100,000) or
// "agents,apps,perApp" for any other size; BERTH_SCALE_RUNS overrides 3.
func profileFromEnv(t *testing.T) profile {
	p := profile{name: "fast", agents: 1000, apps: 1000, perApp: 100, runs: 3}
	switch v := os.Getenv("BERTH_SCALE"); v {
	case "", "fast":
	case "full":
		p = profile{name: "full", agents: 10000, apps: 10000, perApp: 100, runs: 3}
	default:
		f := strings.Split(v, ",")
		if len(f) != 3 {
			t.Fatalf("BERTH_SCALE=%q: want fast, full or agents,apps,perApp", v)
		}
		n := make([]int, 3)
		for i, s := range f {
			x, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || x <= 0 {
				t.Fatalf("BERTH_SCALE=%q: %q is not a positive number", v, s)
			}
			n[i] = x
		}
		p = profile{name: v, agents: n[0], apps: n[1], perApp: n[2], runs: 3}
	}
	if r := os.Getenv("BERTH_SCALE_RUNS"); r != "" {
		x, err := strconv.Atoi(r)
		if err != nil || x <= 0 {
			t.Fatalf("BERTH_SCALE_RUNS=%q: want a positive number", r)
		}
		p.runs = x
	}
	return p
}

// figures are one run's measurements.
type figures map[string]float64

// TestScale runs the profile's measurement p.runs times and prints the
// median of each figure in one table.
func TestScale(t *testing.T) {
	p := profileFromEnv(t)
	raiseFileLimit(t, uint64(p.agents+4096))
	var runs []figures
	for i := 0; i < p.runs; i++ {
		t.Run(fmt.Sprintf("run-%d", i+1), func(t *testing.T) { runs = append(runs, measure(t, p)) })
		if t.Failed() {
			return
		}
	}
	printTable(t, p, runs)
}

func fleetResources() wire.Resources {
	return wire.Resources{CPUs: 8, Mem: 32768, Disk: 100000, Ports: []wire.PortRange{{Begin: 31000, End: 32000}}}
}

// measure is one run on a fresh master and fleet.
func measure(t *testing.T, p profile) figures {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := startMaster(t)
	fleet := startFleet(t, ctx, m.url(), p.agents)
	out := figures{}
	total := p.apps * p.perApp
	d := NewDriver(m.url(), 64)

	start := time.Now()
	post, err := d.PostApps(ctx, p.apps, p.perApp, 64)
	if err != nil {
		t.Fatal(err)
	}
	out["POST /v2/apps (apps/s)"] = float64(p.apps) / post.Seconds()
	t.Logf("%d apps posted in %v", p.apps, post.Round(time.Millisecond))
	waitRunning(t, ctx, d, fleet, total, 10*time.Minute)
	out["POST → all tasks running (s)"] = time.Since(start).Seconds()
	t.Logf("%d tasks running %v after the first POST", total, time.Since(start).Round(time.Millisecond))

	rss, err := rssMiB(m.pid())
	if err != nil {
		t.Fatal(err)
	}
	out["master RSS (MiB)"] = rss
	out["heartbeat CPU per agent (µs/s)"] = heartbeatCost(t, m.pid(), p.agents)
	lat, size, err := d.Timed(ctx, "/v2/apps?embed=apps.tasks", 3)
	if err != nil {
		t.Fatal(err)
	}
	out["GET /v2/apps?embed=apps.tasks p50 (ms)"] = median(lat)
	out["  its body (MiB)"] = float64(size) / (1 << 20)
	out["SSE fan-out to 100 subscribers p50 (ms)"], out["SSE fan-out to 100 subscribers max (ms)"] = sseFanout(t, ctx, d)

	m.kill()
	restart := time.Now()
	m.start()
	out["master restart → /ping (s)"] = time.Since(restart).Seconds()
	waitRunning(t, ctx, d, fleet, total, 10*time.Minute)
	out["master restart → all tasks running again (s)"] = time.Since(restart).Seconds()
	return out
}

// startFleet runs the simulated agents until ctx ends and waits until all
// are registered.
func startFleet(t *testing.T, ctx context.Context, url string, n int) *simagent.Fleet {
	master, err := simagent.NewHTTPMaster(url, "", n)
	if err != nil {
		t.Fatal(err)
	}
	fleet, err := simagent.New(simagent.Config{Master: master, Count: n, Resources: fleetResources()})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = fleet.Run(ctx); close(done) }()
	t.Cleanup(func() { <-done })
	start := time.Now()
	defer func() { t.Logf("%d simulated agents registered in %v", n, time.Since(start).Round(time.Millisecond)) }()
	testenv.WaitFor(t, 2*time.Minute, fmt.Sprintf("%d simulated agents registered", n), func() error {
		if s := fleet.Stats(); s.Registered < int64(n) {
			return fmt.Errorf("%d of %d registered (%d errors)", s.Registered, n, s.Errors)
		}
		return nil
	})
	return fleet
}

// waitRunning waits until the fleet runs total tasks and the master's
// /v2/apps reports as many running.
func waitRunning(t *testing.T, ctx context.Context, d *Driver, fleet *simagent.Fleet, total int, limit time.Duration) {
	testenv.WaitFor(t, limit, fmt.Sprintf("%d tasks running", total), func() error {
		if s := fleet.Stats(); s.Running < int64(total) {
			return fmt.Errorf("the fleet runs %d of %d tasks", s.Running, total)
		}
		_, running, err := d.Running(ctx)
		if err != nil {
			return err
		}
		if running < total {
			return fmt.Errorf("the master reports %d of %d tasks running", running, total)
		}
		return nil
	})
}

// heartbeatCost is the master's CPU time per agent per second over a
// quiet 5 s window (only the agents' long polls and their answers).
func heartbeatCost(t *testing.T, pid, agents int) float64 {
	before, err := cpuTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	time.Sleep(5 * time.Second) // a measurement window, not a wait for a condition
	after, err := cpuTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	perSec := float64(after-before) / time.Since(start).Seconds()
	return perSec / float64(agents) / float64(time.Microsecond)
}
