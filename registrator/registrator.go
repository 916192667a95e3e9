package registrator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Docker is what the registrator needs from the Docker engine. Its errors
// name the operation and the container, e.g. "docker: inspect 3f2a…: …".
type Docker interface {
	// Watch streams container events that happened since `since` to
	// handle until the stream fails (returning why) or ctx ends.
	Watch(ctx context.Context, since time.Time, handle func(Event)) error
	// List returns the IDs of running and paused containers, and of
	// exited ones too when all is set.
	List(ctx context.Context, all bool) ([]string, error)
	// Inspect returns one container; ErrNotFound when it is gone.
	Inspect(ctx context.Context, id string) (Container, error)
}

// Registry is the local Consul agent's service catalog. Its errors name the
// operation and the service, e.g. "consul: register h:web:80: …".
type Registry interface {
	// Ping succeeds when the agent answers and the cluster has a leader.
	Ping(ctx context.Context) error
	// Register creates or replaces a service (and its check).
	Register(ctx context.Context, s Service) error
	// Deregister removes a service; an unknown ID is not an error.
	Deregister(ctx context.Context, id string) error
	// Owned lists the agent's services whose Meta berth_registrator is owner.
	Owned(ctx context.Context, owner string) ([]Service, error)
}

// Deregister modes (-deregister).
const (
	DeregisterAlways    = "always"
	DeregisterOnSuccess = "on-success"
)

// Config builds a Registrator. Zero durations take the defaults noted.
type Config struct {
	Docker   Docker
	Registry Registry
	Logger   *slog.Logger // nil: discard
	Naming   Options      // Naming.Owner defaults to Naming.Hostname

	// Cleanup is -cleanup: remove owned services left by earlier runs.
	Cleanup bool
	// Deregister is -deregister: always (default) or on-success, which
	// keeps the services of a container that exited with a failure code
	// (non-zero and not killed by a signal).
	Deregister string
	// Resync is -resync: a full re-list of Docker this often; 0 = never.
	Resync time.Duration
	// AntiEntropy is how often the agent's services are compared with the
	// desired ones (one /v1/agent/services call), restoring what was
	// removed behind the registrator's back. Default 2s; negative = never.
	AntiEntropy time.Duration
	// RetryAttempts bounds the startup ping of Consul (-retry-attempts):
	// attempts after the first, -1 = forever. RetryInterval is the pause
	// between them (-retry-interval, default 2s).
	RetryAttempts int
	RetryInterval time.Duration
	// BackoffMin and BackoffMax bound the retry delay after a failed pass
	// or a broken event stream (defaults 100ms and 2s).
	BackoffMin, BackoffMax time.Duration
	// Workers bounds concurrent Docker inspects and Consul writes in one
	// pass (default 8).
	Workers int
	// Now is the clock (default time.Now).
	Now func() time.Time

	// AgentURLs are Berth agents (--agent) whose process tasks are
	// registered like containers, read through Agents. Naming.ClusterID,
	// when empty, is learned from their task lists.
	AgentURLs []string
	Agents    Agents
}

// Validate checks the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.Docker == nil {
		errs = append(errs, errors.New("registrator: Docker is required"))
	}
	if c.Registry == nil {
		errs = append(errs, errors.New("registrator: Registry is required"))
	}
	switch c.Deregister {
	case "", DeregisterAlways, DeregisterOnSuccess:
	default:
		errs = append(errs, fmt.Errorf("registrator: -deregister %q: want always or on-success", c.Deregister))
	}
	if c.Naming.Owner == "" && c.Naming.Hostname == "" {
		errs = append(errs, errors.New("registrator: an owner (or hostname) is required to mark services"))
	}
	if len(c.AgentURLs) > 0 && c.Agents == nil {
		errs = append(errs, errors.New("registrator: agent URLs given without an Agents client"))
	}
	if c.Resync < 0 {
		errs = append(errs, fmt.Errorf("registrator: -resync %v is negative", c.Resync))
	}
	if c.RetryAttempts < -1 {
		errs = append(errs, fmt.Errorf("registrator: -retry-attempts %d: want -1 or more", c.RetryAttempts))
	}
	return errors.Join(errs...)
}

func (c *Config) defaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Naming.Owner == "" {
		c.Naming.Owner = c.Naming.Hostname
	}
	if c.Deregister == "" {
		c.Deregister = DeregisterAlways
	}
	if c.AntiEntropy == 0 {
		c.AntiEntropy = 2 * time.Second
	}
	if c.RetryInterval <= 0 {
		c.RetryInterval = 2 * time.Second
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = 100 * time.Millisecond
	}
	if c.BackoffMax < c.BackoffMin {
		c.BackoffMax = max(2*time.Second, c.BackoffMin)
	}
	if c.Workers <= 0 {
		c.Workers = 8
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Registrator keeps Consul in step with Docker. Create it with New, then
// call Run once.
type Registrator struct {
	cfg Config
	log *slog.Logger

	// Pokes from the event watcher to the owner goroutine; capacity 1,
	// sent to without blocking.
	poke   chan struct{}
	resync chan struct{}

	mu     sync.Mutex
	dirty  map[string]bool       // container IDs touched by events, guarded by mu
	snap   Snapshot              // guarded by mu
	agents map[string]agentState // agent URL -> last task list, guarded by mu

	// clusterFixed: Naming.ClusterID came from the configuration and is
	// never replaced by one learned from the agents.
	clusterFixed bool

	// Owned by the Run goroutine.
	containers map[string]*entry
	procs      map[string]*entry // process tasks by container name, from the last pass
	mine       map[string]bool
	// agentsInStep: a pass has applied every agent's task list (logged
	// once: tests and operators wait for it after a restart).
	agentsInStep bool
}

// entry is one inspected container and what ServicesFor made of it.
type entry struct {
	c        Container
	services []Service
	skips    []Skip
}

// Snapshot is the outcome of the latest pass, for tests and diagnostics.
type Snapshot struct {
	Passes     int       // passes run so far
	Failures   int       // passes that ended with an error
	LastPass   time.Time // end of the latest pass
	LastError  string    // "" when the latest pass succeeded
	Desired    int       // desired services after the latest pass
	Containers int       // containers known after the latest pass
	Skips      []Skip    // why containers or ports were left out
	// Foreign counts Berth tasks skipped as another cluster's (or as
	// having no cluster id) in the latest pass; Processes the agents'
	// running process tasks it considered.
	Foreign   int
	Processes int
	ClusterID string // the cluster whose tasks are registered ("" = any)
}

// New checks cfg and returns a Registrator.
func New(cfg Config) (*Registrator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.defaults()
	return &Registrator{
		cfg:          cfg,
		log:          cfg.Logger,
		poke:         make(chan struct{}, 1),
		resync:       make(chan struct{}, 1),
		dirty:        map[string]bool{},
		agents:       map[string]agentState{},
		clusterFixed: cfg.Naming.ClusterID != "",
		containers:   map[string]*entry{},
		mine:         map[string]bool{},
	}, nil
}

// Snapshot returns the outcome of the latest pass.
func (r *Registrator) Snapshot() Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.snap
	s.Skips = append([]Skip(nil), s.Skips...)
	return s
}

// Run pings Consul (with -retry-attempts), then watches Docker and keeps
// Consul in step until ctx ends. It returns nil on cancellation and an error
// only when Consul never answered the startup ping. Cancelling leaves the
// registered services in place.
func (r *Registrator) Run(ctx context.Context) error {
	if err := r.waitForRegistry(ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.watch(ctx)
	}()
	for _, u := range r.cfg.AgentURLs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.pollAgent(ctx, u)
		}()
	}
	r.loop(ctx)
	r.log.Info("registrator stopped; registered services stay in place")
	return nil
}

// SyncOnce runs one full pass — list and inspect every container, read
// what this owner has in Consul, register what is missing or differs — and
// returns its outcome. A fresh process owns nothing yet, so without
// cfg.Cleanup it removes nothing. For one-shot use and benchmarks; it does
// not ping Consul first or watch events.
func SyncOnce(ctx context.Context, cfg Config) (Snapshot, error) {
	r, err := New(cfg)
	if err != nil {
		return Snapshot{}, err
	}
	_, err = r.pass(ctx, true)
	return r.Snapshot(), err
}

// waitForRegistry pings Consul up to 1+RetryAttempts times (forever for -1).
func (r *Registrator) waitForRegistry(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		err := r.cfg.Registry.Ping(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return nil
		}
		if r.cfg.RetryAttempts != -1 && attempt >= r.cfg.RetryAttempts {
			return fmt.Errorf("registrator: consul not reachable after %d attempt(s): %w", attempt+1, err)
		}
		r.log.Warn("consul not reachable yet, retrying", "attempt", attempt+1, "in", r.cfg.RetryInterval.String(), "err", err)
		if !sleep(ctx, r.cfg.RetryInterval) {
			return nil
		}
	}
}

// loop is the owner goroutine: every trigger leads to one level-triggered
// pass; a failed pass is retried with backoff. A full re-list stays due
// until one succeeds, so a Consul outage does not re-inspect every container
// on each retry.
func (r *Registrator) loop(ctx context.Context) {
	var resyncC, aeC <-chan time.Time
	if r.cfg.Resync > 0 {
		t := time.NewTicker(r.cfg.Resync)
		defer t.Stop()
		resyncC = t.C
	}
	if r.cfg.AntiEntropy > 0 {
		t := time.NewTicker(r.cfg.AntiEntropy)
		defer t.Stop()
		aeC = t.C
	}
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	bo := backoff{min: r.cfg.BackoffMin, max: r.cfg.BackoffMax}
	needFull := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.resync:
			needFull = true
		case <-resyncC:
			needFull = true
		case <-r.poke:
		case <-aeC:
		case <-retry.C:
		}
		listed, err := r.pass(ctx, needFull)
		if ctx.Err() != nil {
			return
		}
		if listed {
			needFull = false
		}
		retry.Stop()
		if err == nil {
			if bo.attempts > 0 {
				r.log.Info("pass succeeded again", "after_failures", bo.attempts)
			}
			bo.reset()
			continue
		}
		level := slog.LevelWarn
		if bo.attempts > 0 {
			level = slog.LevelDebug // said once; repeated failures are noise
		}
		delay := bo.next()
		r.log.Log(ctx, level, "pass failed, retrying", "in", delay.String(), "err", err)
		retry.Reset(delay)
	}
}

// watch keeps a Docker event stream open, reconnecting with backoff; every
// (re)connection asks for a full resync. Events since a moment before the
// resync request are replayed by Docker, so nothing between the list and
// the subscription is missed.
func (r *Registrator) watch(ctx context.Context) {
	bo := backoff{min: r.cfg.BackoffMin, max: r.cfg.BackoffMax}
	for {
		since := r.cfg.Now().Add(-time.Second)
		signal(r.resync)
		started := r.cfg.Now()
		err := r.cfg.Docker.Watch(ctx, since, r.onEvent)
		if ctx.Err() != nil {
			return
		}
		if r.cfg.Now().Sub(started) > r.cfg.BackoffMax {
			bo.reset() // the stream was up for a while: not a tight failure loop
		}
		delay := bo.next()
		r.log.Warn("docker event stream ended, reconnecting", "in", delay.String(), "err", err)
		if !sleep(ctx, delay) {
			return
		}
	}
}

// relevant reports whether a container event can change what the
// container should have registered ("health_status: healthy" counts as
// health_status).
func relevant(action string) bool {
	head, _, _ := strings.Cut(action, ":")
	switch head {
	case "start", "restart", "die", "stop", "kill", "destroy", "pause", "unpause", "health_status", "rename":
		return true
	}
	return false
}

func (r *Registrator) onEvent(ev Event) {
	if !relevant(ev.Action) || ev.ContainerID == "" {
		return
	}
	r.mu.Lock()
	r.dirty[ev.ContainerID] = true
	r.mu.Unlock()
	signal(r.poke)
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// sleep waits d or until ctx ends; false means ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// backoff doubles from min to max.
type backoff struct {
	min, max time.Duration
	attempts int
	cur      time.Duration
}

func (b *backoff) next() time.Duration {
	b.attempts++
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	return b.cur
}

func (b *backoff) reset() { b.attempts, b.cur = 0, 0 }
