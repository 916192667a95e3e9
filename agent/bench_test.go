package agent

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"

	"github.com/berth-platform/berth/agent/agenttest"
	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/internal/wire"
)

const benchBatch = 20

// timedDocker is the Docker runtime with each Launch (create + start on
// the engine, the `docker run` part) timed.
type timedDocker struct {
	*DockerRuntime
	mu     sync.Mutex
	launch map[string]time.Duration
}

func (t *timedDocker) Launch(ctx context.Context, l Launch) (Observed, error) {
	start := time.Now()
	o, err := t.DockerRuntime.Launch(ctx, l)
	t.mu.Lock()
	t.launch[l.Spec.TaskID] = time.Since(start)
	t.mu.Unlock()
	return o, err
}

func (t *timedDocker) of(taskID string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.launch[taskID]
}

// benchAgent starts an agent with the (timed) Docker runtime.
func benchAgent(b *testing.B) (dockerEnv, *agenttest.Master, *harness, *timedDocker) {
	cli := testenv.Docker(b)
	testenv.Image(b, "berth/hello")
	label := "agent-bench-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	testenv.CleanupContainers(b, cli, "berth.test", label)
	e := dockerEnv{cli: cli, label: label}
	m := agenttest.NewMaster(b)
	td := &timedDocker{DockerRuntime: NewDockerRuntime(DockerConfig{Client: cli}), launch: map[string]time.Duration{}}
	rts := func(string) map[string]Runtime { return map[string]Runtime{RuntimeDocker: td} }
	h := startAgent(b, m, b.TempDir(), harnessOpts{runtimes: rts, mutate: func(c *Config) {
		c.Logger = nil
		c.RetainExited = time.Millisecond
	}})
	return e, m, h, td
}

// waitArrival waits for a task's TASK_RUNNING at the master and returns its
// latency from start.
func waitArrival(b *testing.B, m *agenttest.Master, taskID string, start time.Time) time.Duration {
	var d time.Duration
	testenv.WaitFor(b, 60*time.Second, "RUNNING of "+taskID, func() error {
		at, ok := m.Arrival(taskID, wire.TaskRunning)
		if !ok {
			return fmt.Errorf("not running yet")
		}
		d = at.Sub(start)
		return nil
	})
	return d
}

func killAll(b *testing.B, m *agenttest.Master, h *harness, specs []wire.TaskSpec) {
	m.SetDesired(h.a.ID(), nil)
	for _, s := range specs {
		m.WaitState(b, s.TaskID, wire.TaskKilled, 60*time.Second)
	}
}

// BenchmarkLaunchToRunningSequential launches 20 berth/hello containers
// (bridge network, one published port each) one after the other through
// the agent, each timed from the moment the master publishes the new
// desired set to the moment its TASK_RUNNING reaches the master.
//
//   - overhead = that time minus the agent's own create+start calls on the
//     engine (the `docker run -d` part): the long-poll wake-up, the
//     reconcile pass, the journal and the status round trip.
//   - docker = a plain create+start of the same container on the API,
//     run before each launch, for scale.
func BenchmarkLaunchToRunningSequential(b *testing.B) {
	e, m, h, td := benchAgent(b)
	var total, plain, over []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var specs []wire.TaskSpec
		for j := 0; j < benchBatch; j++ {
			b.StopTimer()
			plain = append(plain, plainDockerBatch(b, e, 1)[0])
			b.StartTimer()
			specs = append(specs, e.spec("seq"+strconv.Itoa(j), "berth/hello", "BRIDGE", testenv.FreePort(b)))
			start := time.Now()
			m.SetDesired(h.a.ID(), specs)
			d := waitArrival(b, m, specs[j].TaskID, start)
			total, over = append(total, d), append(over, d-td.of(specs[j].TaskID))
		}
		b.StopTimer()
		killAll(b, m, h, specs)
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(ms(percentile(total, 50)), "launch-to-running-p50-ms")
	b.ReportMetric(ms(percentile(total, 99)), "launch-to-running-p99-ms")
	b.ReportMetric(ms(percentile(plain, 50)), "docker-run-p50-ms")
	b.ReportMetric(ms(percentile(plain, 99)), "docker-run-p99-ms")
	b.ReportMetric(ms(percentile(over, 50)), "overhead-p50-ms")
	b.ReportMetric(ms(percentile(over, 99)), "overhead-p99-ms")
}

// BenchmarkLaunchToRunningBatch20 publishes 20 berth/hello tasks at once;
// overhead is again each task's launch-to-running time minus its create +
// start calls. docker = 20 concurrent plain create+start calls, for scale:
// on a small box a batch mostly measures the engine's own contention.
func BenchmarkLaunchToRunningBatch20(b *testing.B) {
	e, m, h, td := benchAgent(b)
	var total, plain, over []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		specs := make([]wire.TaskSpec, benchBatch)
		for j := range specs {
			specs[j] = e.spec("batch"+strconv.Itoa(j), "berth/hello", "BRIDGE", testenv.FreePort(b))
		}
		start := time.Now()
		m.SetDesired(h.a.ID(), specs)
		for _, s := range specs {
			d := waitArrival(b, m, s.TaskID, start)
			total, over = append(total, d), append(over, d-td.of(s.TaskID))
		}
		b.StopTimer()
		killAll(b, m, h, specs)
		plain = append(plain, plainDockerBatch(b, e, benchBatch)...)
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(ms(percentile(total, 50)), "launch-to-running-p50-ms")
	b.ReportMetric(ms(percentile(total, 99)), "launch-to-running-p99-ms")
	b.ReportMetric(ms(percentile(plain, 50)), "docker-run-p50-ms")
	b.ReportMetric(ms(percentile(plain, 99)), "docker-run-p99-ms")
	b.ReportMetric(ms(percentile(over, 50)), "overhead-p50-ms")
	b.ReportMetric(ms(percentile(over, 99)), "overhead-p99-ms")
}

// plainDockerBatch creates and starts n containers concurrently, the way
// `docker run -d -p P:P -e PORT0=P berth/hello` would, and returns each
// one's create+start time from the common start.
func plainDockerBatch(b *testing.B, e dockerEnv, n int) []time.Duration {
	ctx := context.Background()
	lat := make([]time.Duration, n)
	ids := make([]string, n)
	var wg sync.WaitGroup
	start := time.Now()
	for j := 0; j < n; j++ {
		port := strconv.Itoa(testenv.FreePort(b))
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := nat.Port(port + "/tcp")
			c, err := e.cli.ContainerCreate(ctx, &container.Config{
				Image: "berth/hello", Env: []string{"PORT0=" + port}, Labels: map[string]string{"berth.test": e.label},
				ExposedPorts: nat.PortSet{p: {}},
			}, &container.HostConfig{PortBindings: nat.PortMap{p: {{HostPort: port}}}}, nil, nil, "")
			if err == nil {
				err = e.cli.ContainerStart(ctx, c.ID, container.StartOptions{})
			}
			if err != nil {
				b.Errorf("plain docker run: %v", err)
				return
			}
			lat[j], ids[j] = time.Since(start), c.ID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != "" {
			e.cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true}) //nolint:errcheck // cleanup also runs at the end
		}
	}
	return lat
}

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100
	return s[max(i-1, 0)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
