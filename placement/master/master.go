package master

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/berth-platform/berth/jobs"
	"github.com/berth-platform/berth/jobs/service"
	"github.com/berth-platform/berth/placement"
	"github.com/berth-platform/berth/placement/marathon"
	"github.com/berth-platform/berth/placement/store"
)

// Config configures a Master.
type Config struct {
	Store  store.Store
	Logger *slog.Logger
	// ServicePortMin/Max bound the servicePort pool (0, 0 = 10000–20000).
	ServicePortMin, ServicePortMax int
	// AgentSecret, when set, is required as "Authorization: Bearer <secret>"
	// on the internal agent API.
	AgentSecret string
	// AgentTimeout marks an agent lost after this much silence (default 15 s).
	AgentTimeout time.Duration
	// Credentials "user:pass" enables HTTP basic auth on the public API.
	Credentials string
	// MetricsOpen serves GET /metrics without Credentials (for a
	// Prometheus without them); by default /metrics is behind them too.
	MetricsOpen bool
	// MaxEventStreams bounds the concurrent GET /v2/events streams
	// (default DefaultMaxEventStreams); one more is answered 503.
	MaxEventStreams int
	// WriteRate limits POST/PUT/PATCH/DELETE on /v2 and the Chronos API
	// to this many per second (a token bucket, bursts of ceil(rate));
	// beyond it: 429 with Retry-After. 0: no limit.
	WriteRate float64
	// Validation holds the switches for privileged, docker parameters and
	// host volumes.
	Validation marathon.Options
	// Advertise is this master's host:port for /v2/leader and /v2/info.
	Advertise string
	// Interval is the period of the full reconcile pass (default 1 s).
	Interval time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Seed makes placement tie-breaking reproducible.
	Seed uint64
	// MaxVersions is how many versions are kept per app (default 50).
	MaxVersions int
	// Leadership, when set, is the election this master is part of (an
	// ha.Node): /v2/info and /v2/leader report it and DELETE /v2/leader
	// abdicates. Nil is a single master that always leads.
	Leadership Leadership
	// ZK is the ZooKeeper URL shown in /v2/info (zookeeper_config.zk).
	ZK string
	// JobQueues is the job service's capacity-queue tree (--job-queues;
	// nil: one "default" queue).
	JobQueues *jobs.Tree
	// JobTick and JobRetryDelay tune the job service's loop (defaults
	// 250 ms and 60 s; see jobs_hooks.go).
	JobTick, JobRetryDelay time.Duration
	// TLS tells /v2/info that the API is served over HTTPS
	// (http_config.https_port rather than http_port).
	TLS bool
}

// Leadership is what the master needs to know about an election.
type Leadership interface {
	// Leader returns the leader's URL (http://host:port), ok false when
	// there is none or it is unknown.
	Leader() (string, bool)
	// IsLeader reports whether this master leads.
	IsLeader() bool
	// Abdicate gives the leadership up (election.ErrNotLeader when this
	// master does not lead).
	Abdicate(ctx context.Context) error
}

func (c *Config) defaults() error {
	if c.Store == nil {
		return errors.New("master: config: Store is required")
	}
	return c.fill()
}

// fill sets the defaults of everything but the store.
func (c *Config) fill() error {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.AgentTimeout <= 0 {
		c.AgentTimeout = 15 * time.Second
	}
	if c.MaxEventStreams <= 0 {
		c.MaxEventStreams = DefaultMaxEventStreams
	}
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MaxVersions <= 0 {
		c.MaxVersions = 50
	}
	if c.Credentials != "" && !strings.Contains(c.Credentials, ":") {
		return errors.New("master: config: credentials must be user:pass")
	}
	return nil
}

// appState is one app in memory.
type appState struct {
	rec         appRecord
	versions    []string // ascending
	tasks       map[string]*Task
	deployments map[string]bool
	backoff     backoff
	queue       queueInfo
	// view caches the JSON of rec.App; nil when stale.
	view []byte
}

// Master is the control plane.
type Master struct {
	cfg    Config
	log    *slog.Logger
	events *bus
	w      *writer
	mx     *metrics
	jobs   *service.Service

	stopping chan struct{}
	trigger  chan struct{}

	streamsMu sync.Mutex
	streams   int // open GET /v2/events streams (enterStream)

	mu           sync.Mutex
	apps         map[string]*appState
	tasks        map[string]*Task
	agentTasks   map[string]map[string]*Task // agent id -> its tasks
	orphans      map[string]*Task            // tasks of deleted apps still being killed
	deployments  map[string]*Deployment
	appLocks     map[string]map[string]bool // app id (existing or being deleted) -> deployment ids
	agents       map[string]*agent
	servicePorts *placement.ServicePorts
	lastVersion  time.Time
	dirty        map[string]bool
	passes       uint64
	// groups are the stored group records; groupVersions each group's
	// stored versions, ascending.
	groups        map[string]*groupMeta
	groupVersions map[string][]string
	// callbacks are the /v2/eventSubscriptions HTTP subscribers.
	callbacks *callbackSet
	clusterID string // see cluster.go
	// completed are the last ended tasks (/master/state, completed.go).
	completed completedRing
}

// New builds a master and loads its state from cfg.Store.
func New(ctx context.Context, cfg Config) (*Master, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	sp, err := placement.NewServicePorts(cfg.ServicePortMin, cfg.ServicePortMax)
	if err != nil {
		return nil, fmt.Errorf("master: %w", err)
	}
	m := &Master{
		cfg: cfg, log: cfg.Logger, events: newBus(), w: &writer{st: cfg.Store},
		stopping: make(chan struct{}), trigger: make(chan struct{}, 1),
		apps: map[string]*appState{}, tasks: map[string]*Task{}, agentTasks: map[string]map[string]*Task{}, orphans: map[string]*Task{},
		deployments: map[string]*Deployment{}, appLocks: map[string]map[string]bool{}, agents: map[string]*agent{},
		servicePorts: sp, dirty: map[string]bool{},
		groups: map[string]*groupMeta{}, groupVersions: map[string][]string{},
	}
	m.mx = newMetrics(m)
	if m.clusterID, err = loadClusterID(ctx, cfg.Store); err != nil {
		return nil, err
	}
	if err := m.load(ctx); err != nil {
		return nil, err
	}
	if err := m.initJobs(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Master) now() time.Time { return m.cfg.Now() }

// load reads the whole state from the store.
func (m *Master) load(ctx context.Context) error {
	st := m.cfg.Store
	apps, err := st.List(ctx, bucketApps, "")
	if err != nil {
		return fmt.Errorf("master: load apps: %w", err)
	}
	for _, kv := range apps {
		var rec appRecord
		if err := json.Unmarshal(kv.Value, &rec); err != nil || rec.App == nil {
			m.log.Warn("master: skipping unreadable app record", "key", kv.Key, "err", err)
			continue
		}
		as := newAppState(rec)
		if _, err := m.servicePorts.Allocate(rec.App.ID, rec.App.ServicePorts()); err != nil {
			m.log.Warn("master: servicePort conflict on load", "app", rec.App.ID, "err", err)
		}
		m.apps[rec.App.ID] = as
	}
	vers, err := st.List(ctx, bucketVersions, "")
	if err != nil {
		return fmt.Errorf("master: load versions: %w", err)
	}
	for _, kv := range vers {
		id, v, ok := strings.Cut(kv.Key, " ")
		if as := m.apps[id]; ok && as != nil {
			as.versions = append(as.versions, v)
		}
	}
	for _, as := range m.apps {
		sort.Strings(as.versions)
	}
	// Deployments first: a stop they defer to a later step keeps its
	// tasks running (loadTasks).
	if err := m.loadDeployments(ctx); err != nil {
		return err
	}
	if err := m.loadTasks(ctx); err != nil {
		return err
	}
	if err := m.loadGroups(ctx); err != nil {
		return err
	}
	if err := m.loadCallbacks(ctx); err != nil {
		return err
	}
	return m.loadAgents(ctx)
}

func (m *Master) loadGroups(ctx context.Context) error {
	kvs, err := m.cfg.Store.List(ctx, bucketGroups, "")
	if err != nil {
		return fmt.Errorf("master: load groups: %w", err)
	}
	for _, kv := range kvs {
		var g groupMeta
		if err := json.Unmarshal(kv.Value, &g); err != nil {
			m.log.Warn("master: skipping unreadable group", "key", kv.Key, "err", err)
			continue
		}
		m.groups[g.ID] = &g
	}
	vers, err := m.cfg.Store.List(ctx, bucketGroupVersions, "")
	if err != nil {
		return fmt.Errorf("master: load group versions: %w", err)
	}
	for _, kv := range vers {
		if id, v, ok := strings.Cut(kv.Key, " "); ok {
			m.groupVersions[id] = append(m.groupVersions[id], v)
		}
	}
	for _, vs := range m.groupVersions {
		sort.Strings(vs)
	}
	return nil
}

func newAppState(rec appRecord) *appState {
	return &appState{rec: rec, tasks: map[string]*Task{}, deployments: map[string]bool{}}
}

func (m *Master) loadTasks(ctx context.Context) error {
	kvs, err := m.cfg.Store.List(ctx, bucketTasks, "")
	if err != nil {
		return fmt.Errorf("master: load tasks: %w", err)
	}
	for _, kv := range kvs {
		var t Task
		if err := json.Unmarshal(kv.Value, &t); err != nil {
			m.log.Warn("master: skipping unreadable task", "key", kv.Key, "err", err)
			continue
		}
		m.indexTask(&t)
		if isJobTask(&t) {
			continue // the job service's (jobs_run.go)
		}
		if as := m.apps[t.AppID]; as != nil && !expunged(&t) {
			as.tasks[t.ID] = &t
		} else {
			// A stop deferred to a later step of a deployment waits for it
			// (beginStops); any other orphan is being killed.
			t.Killing = t.Killing || t.KillReason != killDelete || !m.stopDeferred(t.AppID)
			if t.KillReason != killWipe {
				t.KillReason = killDelete
			}
			m.orphans[t.ID] = &t
		}
	}
	return nil
}

func (m *Master) loadDeployments(ctx context.Context) error {
	kvs, err := m.cfg.Store.List(ctx, bucketDeployments, "")
	if err != nil {
		return fmt.Errorf("master: load deployments: %w", err)
	}
	for _, kv := range kvs {
		var d Deployment
		if err := json.Unmarshal(kv.Value, &d); err != nil {
			m.log.Warn("master: skipping unreadable deployment", "key", kv.Key, "err", err)
			continue
		}
		m.addDeployment(&d)
		for _, id := range d.AffectedApps {
			if as := m.apps[id]; as != nil {
				as.deployments[d.ID] = true
			}
		}
	}
	return nil
}

func (m *Master) loadAgents(ctx context.Context) error {
	kvs, err := m.cfg.Store.List(ctx, bucketAgents, "")
	if err != nil {
		return fmt.Errorf("master: load agents: %w", err)
	}
	now := m.now()
	for _, kv := range kvs {
		var rec agentRecord
		if err := json.Unmarshal(kv.Value, &rec); err != nil {
			continue
		}
		// A restarted master gives every known agent a full timeout to
		// come back before its tasks are declared lost.
		m.agents[rec.Registration.ID] = &agent{reg: rec.Registration, lastSeen: now,
			changed: make(chan struct{}), unknown: map[string]bool{}}
	}
	return nil
}

// Run runs the reconcile loop until ctx ends.
func (m *Master) Run(ctx context.Context) error {
	defer close(m.stopping)
	rctx, stopReadiness := context.WithCancel(ctx)
	defer m.runReadiness(rctx)()
	defer m.runCallbacks(rctx, 200*time.Millisecond)()
	defer stopReadiness()
	defer m.runJobs(rctx)()
	tick := time.NewTicker(m.cfg.Interval)
	defer tick.Stop()
	m.reconcile(true)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			m.reconcile(true)
		case <-m.trigger:
			m.reconcile(false)
		}
	}
}

// kick asks for a reconcile pass over the dirty apps.
func (m *Master) kick() {
	select {
	case m.trigger <- struct{}{}:
	default:
	}
}

// nextVersion returns a fresh version timestamp, strictly increasing.
func (m *Master) nextVersion() string {
	now := m.now().UTC().Truncate(time.Millisecond)
	if !now.After(m.lastVersion) {
		now = m.lastVersion.Add(time.Millisecond)
	}
	m.lastVersion = now
	return ts(now)
}

// --- persistence helpers; call with m.mu held, then m.w.wait(seq) unlocked.

func appOps(as *appState) []store.Op {
	b, _ := json.Marshal(&as.rec)
	return []store.Op{store.Put(bucketApps, as.rec.App.ID, b)}
}

func versionOp(app *marathon.App) store.Op {
	b, _ := json.Marshal(app)
	return store.Put(bucketVersions, app.ID+" "+app.Version, b)
}

func taskOp(t *Task) store.Op {
	b, _ := json.Marshal(t)
	return store.Put(bucketTasks, t.ID, b)
}

func deploymentOp(d *Deployment) store.Op {
	b, _ := json.Marshal(d)
	return store.Put(bucketDeployments, d.ID, b)
}
