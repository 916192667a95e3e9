package registrator_test

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/registrator"
	regconsul "github.com/berth-platform/berth/registrator/consul"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/filters"
	"github.com/hashicorp/consul/api"
)

// BenchmarkStartToCatalog starts real containers one after the other while
// a registrator runs, and measures from Docker's start event to the service
// being in Consul's catalog (a blocking query on its name returns it).
// Run with -benchtime=100x for "over 100 containers".
func BenchmarkStartToCatalog(b *testing.B) {
	w := newWorld(b)
	w.run(naming, func(c *registrator.Config) { c.Logger = nil; c.AntiEntropy = 2 * time.Second })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	starts := w.startEvents(ctx)
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("bench-%d-%s", i, randHex(3))
		_, meta, err := w.consul.Client.Catalog().Service(name, "", nil)
		if err != nil {
			b.Fatal(err)
		}
		c := w.start(spec{publish: []string{"80/tcp"}, env: []string{"SERVICE_NAME=" + name}})
		visible := waitRegistered(b, w, name, meta.LastIndex)
		at := starts.when(c.id, 10*time.Second)
		if at.IsZero() {
			b.Fatalf("no start event for %s", c.id[:12])
		}
		lat = append(lat, visible.Sub(at))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 { // nearest rank
		i := int(math.Ceil(p*float64(len(lat)))) - 1
		return float64(lat[max(0, i)].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
}

// waitRegistered blocks on the catalog until name has an instance and
// returns the moment it saw it.
func waitRegistered(b *testing.B, w *world, name string, index uint64) time.Time {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		list, meta, err := w.consul.Client.Catalog().Service(name, "", &api.QueryOptions{WaitIndex: index, WaitTime: 10 * time.Second})
		now := time.Now()
		if err != nil {
			b.Fatal(err)
		}
		if len(list) > 0 {
			return now
		}
		index = meta.LastIndex
	}
	b.Fatalf("%s never registered", name)
	return time.Time{}
}

// startLog records Docker start events by container ID.
type startLog struct {
	mu   sync.Mutex
	at   map[string]time.Time
	cond chan struct{}
}

func (w *world) startEvents(ctx context.Context) *startLog {
	l := &startLog{at: map[string]time.Time{}, cond: make(chan struct{})}
	msgs, _ := w.docker.Events(ctx, types.EventsOptions{Filters: filters.NewArgs(
		filters.Arg("type", "container"), filters.Arg("event", "start"), filters.Arg("label", "berth.test="+w.label))})
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case m := <-msgs:
				l.mu.Lock()
				l.at[m.Actor.ID] = time.Unix(0, m.TimeNano)
				close(l.cond)
				l.cond = make(chan struct{})
				l.mu.Unlock()
			}
		}
	}()
	return l
}

func (l *startLog) when(id string, timeout time.Duration) time.Time {
	deadline := time.After(timeout)
	for {
		l.mu.Lock()
		at, cond := l.at[id], l.cond
		l.mu.Unlock()
		if !at.IsZero() {
			return at
		}
		select {
		case <-cond:
		case <-deadline:
			return time.Time{}
		}
	}
}

// memDocker is a Docker with n simulated running containers and no events.
type memDocker struct {
	ids        []string
	containers map[string]registrator.Container
}

func newMemDocker(n int) *memDocker {
	d := &memDocker{containers: map[string]registrator.Container{}}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%064x", i+1)
		c := registrator.Container{
			ID: id, Name: fmt.Sprintf("sim-%04d", i), Image: "berth/hello", Running: true,
			NetworkMode: "default", IP: "172.17.0.2",
			ExposedPorts: []string{"80/tcp"},
			Ports:        map[string][]registrator.Binding{"80/tcp": {{HostIP: "0.0.0.0", HostPort: strconv.Itoa(31000 + i)}}},
			Env:          []string{"PATH=/bin", "SERVICE_TAGS=sim,v1"},
			Labels:       map[string]string{},
		}
		if i%2 == 0 { // half of them Berth tasks with a health check
			c.Labels = map[string]string{
				"berth.task-id": fmt.Sprintf("sim.%d", i), "berth.app-id": "/sim", "berth.app-version": "v1",
				"berth.agent-id": "a1", "berth.port.0.container": "80", "berth.port.0.service": "10000",
				"HAPROXY_GROUP": "external", "HAPROXY_0_VHOST": "sim.example.com",
				"berth.health.0.protocol": "HTTP", "berth.health.0.path": "/", "berth.health.0.interval": "10",
			}
		}
		d.ids = append(d.ids, id)
		d.containers[id] = c
	}
	return d
}

func (d *memDocker) Watch(ctx context.Context, _ time.Time, _ func(registrator.Event)) error {
	<-ctx.Done()
	return ctx.Err()
}

func (d *memDocker) List(context.Context, bool) ([]string, error) { return d.ids, nil }

func (d *memDocker) Inspect(_ context.Context, id string) (registrator.Container, error) {
	return d.containers[id], nil
}

// BenchmarkResync500 is one full resync pass over 500 simulated containers
// (in-memory Docker) through ServicesFor, Plan and the real Consul
// registry: "cold" registers all 500 into an empty agent, "warm" finds
// everything in place (list + inspect + one /v1/agent/services + plan).
func BenchmarkResync500(b *testing.B) {
	c := testenv.StartConsul(b)
	reg, err := regconsul.New(regconsul.Config{Address: c.HTTPAddr})
	if err != nil {
		b.Fatal(err)
	}
	cfg := registrator.Config{Docker: newMemDocker(500), Registry: reg, Naming: naming}
	ctx := context.Background()
	clear := func() {
		svcs, err := reg.Owned(ctx, naming.Hostname)
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range svcs {
			if err := reg.Deregister(ctx, s.ID); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("cold", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			clear()
			b.StartTimer()
			snap, err := registrator.SyncOnce(ctx, cfg)
			if err != nil || snap.Desired != 500 {
				b.Fatalf("pass: %v, %d desired", err, snap.Desired)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/pass")
	})
	b.Run("warm", func(b *testing.B) {
		if _, err := registrator.SyncOnce(ctx, cfg); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			snap, err := registrator.SyncOnce(ctx, cfg)
			if err != nil || snap.Desired != 500 {
				b.Fatalf("pass: %v, %d desired", err, snap.Desired)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/pass")
	})
}
