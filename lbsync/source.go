package lbsync

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"
)

// Source produces complete snapshots of the passing instances. Watch sends
// a snapshot whenever something changed and returns when ctx ends.
type Source interface {
	Watch(ctx context.Context, out chan<- Snapshot) error
}

// ConsulSourceConfig configures a ConsulSource.
type ConsulSourceConfig struct {
	Client *api.Client
	// Tag limits the watched services to those carrying it (the
	// registrator tags Berth's services "berth"); "" watches every service.
	Tag string
	// WaitTime is the blocking-query wait (default 5m).
	WaitTime time.Duration
	// MinInterval is the least time between two queries of one watch
	// (default 50ms, plus up to 50% jitter) so a flapping service cannot
	// turn a watch into a busy loop.
	MinInterval time.Duration
	// MaxBackoff caps the retry delay after errors (default 30s; the first
	// retry waits 250ms, doubling, with jitter).
	MaxBackoff time.Duration
	// Address is Consul's HTTP address, as GET /routes reports it (the
	// client does not tell).
	Address string
	// Clock stamps the answers (default RealClock).
	Clock  Clock
	Logger *slog.Logger
}

// ConsulSource watches the catalog's service list and, for each relevant
// service, its passing instances, all with blocking queries.
type ConsulSource struct {
	cfg    ConsulSourceConfig
	health *consulHealth
}

// NewConsulSource returns a Source over cfg.Client.
func NewConsulSource(cfg ConsulSourceConfig) *ConsulSource {
	if cfg.WaitTime == 0 {
		cfg.WaitTime = 5 * time.Minute
	}
	if cfg.MinInterval == 0 {
		cfg.MinInterval = 50 * time.Millisecond
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = RealClock{}
	}
	return &ConsulSource{cfg: cfg, health: newConsulHealth(cfg.Address)}
}

// ConsulStatus implements ConsulStatuser.
func (s *ConsulSource) ConsulStatus() (ConsulStatus, bool) { return s.health.status(), true }

type serviceUpdate struct {
	name  string
	insts []Instance
}

// Watch implements Source. It sends the first snapshot once the catalog
// and every watched service have answered once, so startup never renders
// a partial set.
func (s *ConsulSource) Watch(ctx context.Context, out chan<- Snapshot) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	namesCh := make(chan []string, 1)
	updates := make(chan serviceUpdate)
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.watchCatalog(ctx, namesCh)
	}()

	st := &sourceState{watches: map[string]context.CancelFunc{}, data: map[string][]Instance{}}
	var pending *Snapshot
	for {
		var send chan<- Snapshot
		var snap Snapshot
		if pending != nil && st.ready() {
			send, snap = out, *pending
		}
		select {
		case <-ctx.Done():
			return nil
		case names := <-namesCh:
			st.setNames(ctx, names, func(name string, wctx context.Context) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s.watchService(wctx, name, updates)
				}()
			})
			pending = snapshotOf(st.data)
		case u := <-updates:
			if st.update(u) {
				pending = snapshotOf(st.data)
			}
		case send <- snap:
			pending = nil
		}
	}
}

// sourceState is Watch's bookkeeping: one watch per service name, the
// last answer of each.
type sourceState struct {
	catalogSeen bool
	watches     map[string]context.CancelFunc
	data        map[string][]Instance
}

// ready: the catalog and every watched service answered at least once.
func (st *sourceState) ready() bool {
	return st.catalogSeen && len(st.data) == len(st.watches)
}

// setNames stops the watches of vanished services and starts new ones.
func (st *sourceState) setNames(ctx context.Context, names []string, start func(string, context.Context)) {
	st.catalogSeen = true
	for name, stop := range st.watches {
		if !slices.Contains(names, name) {
			stop()
			delete(st.watches, name)
			delete(st.data, name)
		}
	}
	for _, name := range names {
		if _, ok := st.watches[name]; ok {
			continue
		}
		wctx, stop := context.WithCancel(ctx)
		st.watches[name] = stop
		start(name, wctx)
	}
}

// update records a service's answer; false if it changed nothing.
func (st *sourceState) update(u serviceUpdate) bool {
	if _, ok := st.watches[u.name]; !ok {
		return false // a late answer for a service no longer watched
	}
	if old, ok := st.data[u.name]; ok && reflect.DeepEqual(old, u.insts) {
		return false
	}
	st.data[u.name] = u.insts
	return true
}

func snapshotOf(data map[string][]Instance) *Snapshot {
	var s Snapshot
	for _, name := range slices.Sorted(maps.Keys(data)) {
		s.Instances = append(s.Instances, data[name]...)
	}
	return &s
}

func (s *ConsulSource) watchCatalog(ctx context.Context, out chan []string) {
	s.blockingLoop(ctx, "catalog services", func(opts *api.QueryOptions) (uint64, error) {
		svcs, meta, err := s.cfg.Client.Catalog().Services(opts)
		if err != nil {
			return 0, err
		}
		var names []string
		for name, tags := range svcs {
			if s.cfg.Tag == "" || slices.Contains(tags, s.cfg.Tag) {
				names = append(names, name)
			}
		}
		slices.Sort(names)
		select { // keep only the newest list
		case <-out:
		default:
		}
		out <- names
		return meta.LastIndex, nil
	})
}

func (s *ConsulSource) watchService(ctx context.Context, name string, out chan<- serviceUpdate) {
	s.blockingLoop(ctx, "health of "+name, func(opts *api.QueryOptions) (uint64, error) {
		// Every instance, not only passing ones: a servicePort whose
		// instances all fail keeps its frontend (503), and /routes says
		// why each instance is not routed.
		entries, meta, err := s.cfg.Client.Health().Service(name, "", false, opts)
		if err != nil {
			return 0, err
		}
		insts := make([]Instance, 0, len(entries))
		for _, e := range entries {
			addr := e.Service.Address
			if addr == "" {
				addr = e.Node.Address
			}
			status, check := instanceStatus(e.Checks)
			insts = append(insts, Instance{
				Service: e.Service.Service, ID: e.Service.ID, Node: e.Node.Node, Address: addr,
				Port: e.Service.Port, Tags: e.Service.Tags, Meta: e.Service.Meta,
				Status: status, Check: check, Weight: e.Service.Weights.Passing,
			})
		}
		slices.SortFunc(insts, func(a, b Instance) int {
			if c := strings.Compare(a.Node, b.Node); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
		select {
		case out <- serviceUpdate{name: name, insts: insts}:
		case <-ctx.Done():
		}
		return meta.LastIndex, nil
	})
}

// blockingLoop runs fetch as a blocking query until ctx ends, following
// Consul's rules: wait on the last index, reset it when it goes
// backwards, never use 0 after an answer; back off with jitter on errors
// and read afresh (index 0) after one; and keep at least MinInterval
// (with jitter) between queries.
func (s *ConsulSource) blockingLoop(ctx context.Context, what string, fetch func(*api.QueryOptions) (uint64, error)) {
	var index uint64
	backoff := 250 * time.Millisecond
	defer s.health.gone(what)
	for ctx.Err() == nil {
		start := time.Now()
		opts := (&api.QueryOptions{WaitIndex: index, WaitTime: s.cfg.WaitTime}).WithContext(ctx)
		newIndex, err := fetch(opts)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.health.failed(what, err)
			// Consul may come back with its state (and index) lost, e.g. a
			// restarted dev agent: waiting on the old index would block
			// until the new one passes it, up to WaitTime. Read afresh.
			index = 0
			d := jitter(backoff)
			s.cfg.Logger.Warn("consul query failed; retrying", "query", what, "err", err, "retry_in", Dur(d))
			sleep(ctx, d)
			backoff = min(backoff*2, s.cfg.MaxBackoff)
			continue
		}
		backoff = 250 * time.Millisecond
		s.health.ok(what, newIndex, s.cfg.Clock.Now())
		switch {
		case newIndex < index:
			index = 0 // snapshot restore or similar: start over
		case newIndex == 0:
			index = 1
		default:
			index = newIndex
		}
		if d := s.cfg.MinInterval - time.Since(start); d > 0 {
			sleep(ctx, jitter(d))
		}
	}
}

// jitter returns d plus up to 50% of d.
func jitter(d time.Duration) time.Duration {
	return d + time.Duration(rand.Int64N(int64(d)/2+1))
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// String describes the source for logs.
func (s *ConsulSource) String() string {
	return fmt.Sprintf("consul (tag %q)", s.cfg.Tag)
}

// Dur shows a duration in logs with its unit, rounded to what a person
// reads: "281ms", "1.5s", "2m0s", "0s".
func Dur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(time.Millisecond).String()
	default:
		return d.String()
	}
}

// instanceStatus is Consul's aggregated status of one instance's checks
// (node and service), "maintenance" when a maintenance check is set, and
// the name and output of the first check that is not passing.
func instanceStatus(checks api.HealthChecks) (status, detail string) {
	status = checks.AggregatedStatus()
	for _, c := range checks {
		if c.Status == api.HealthPassing {
			continue
		}
		if detail == "" {
			detail = c.Name
			if out := strings.TrimSpace(c.Output); out != "" {
				detail += ": " + out
			} else if c.Notes != "" {
				detail += ": " + c.Notes
			}
		}
	}
	if status == api.HealthMaint {
		status = StatusMaintenance
	}
	return status, detail
}
