package lbsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Target is one thing kept in step with the model: HAProxy, or the
// built-in nginx template.
type Target interface {
	Name() string
	Apply(ctx context.Context, m Model) (Outcome, error)
}

// MembershipApplier is a Target that can apply a change of backend
// membership alone at once and cheaply (HAProxy's Runtime API). The Syncer
// offers it every snapshot before the debounce; handled=false means the
// change waits for the debounced Apply.
type MembershipApplier interface {
	ApplyMembership(ctx context.Context, m Model) (out Outcome, handled bool, err error)
}

// Config configures a Syncer.
type Config struct {
	Source  Source
	Rules   Rules
	Targets []Target
	// Templates, if set, renders consul-template templates (run and
	// supervised by the Syncer).
	Templates *TemplateRunner
	// WaitMin/WaitMax are the quiescence bounds (default 50ms / 1s).
	WaitMin, WaitMax time.Duration
	// Listen, if set, serves Handler() there ("127.0.0.1:9091").
	Listen string
	// StatusCredentials "user:pass", if set, is required as HTTP basic
	// auth on every path of Handler() (/routes, /metrics).
	StatusCredentials string
	Clock             Clock
	Logger            *slog.Logger
	Registry          *prometheus.Registry // default: a new registry
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.Source == nil {
		return errors.New("lbsync: no source")
	}
	if c.StatusCredentials != "" && !strings.Contains(c.StatusCredentials, ":") {
		return errors.New("lbsync: status credentials: want user:pass")
	}
	if c.WaitMin < 0 || c.WaitMax < c.WaitMin {
		return fmt.Errorf("lbsync: wait %s:%s: want 0 <= min <= max", c.WaitMin, c.WaitMax)
	}
	if c.Rules.HTTPPort < 1 || c.Rules.HTTPPort > 65535 {
		return fmt.Errorf("lbsync: http port %d out of range", c.Rules.HTTPPort)
	}
	return nil
}

// Syncer is the loop: snapshots from the Source → debounce → BuildModel →
// every Target's Apply. It publishes a Status snapshot and a notification
// after every pass.
type Syncer struct {
	cfg      Config
	registry *prometheus.Registry
	metrics  *metrics
	notify   chan struct{}

	// retained is, by servicePort, the newest instance seen on it
	// (Retain); owned by the loop.
	retained map[int]Instance
	// times are the backends' inConsulAt/routedAt; owned by the loop.
	times *backendTimes

	mu       sync.Mutex
	status   Status
	lastWarn []string
}

// New returns a Syncer; Run starts it.
func New(cfg Config) (*Syncer, error) {
	if cfg.WaitMin == 0 && cfg.WaitMax == 0 {
		cfg.WaitMin, cfg.WaitMax = 50*time.Millisecond, time.Second
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Clock == nil {
		cfg.Clock = RealClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	s := &Syncer{cfg: cfg, registry: cfg.Registry, notify: make(chan struct{}, 1), times: newBackendTimes()}
	s.metrics = newMetrics(cfg.Registry)
	s.status.HTTPPort = cfg.Rules.HTTPPort
	return s, nil
}

// Notify is signalled (capacity 1, never blocks the loop) after each pass
// and each template result; read Status for the details.
func (s *Syncer) Notify() <-chan struct{} { return s.notify }

// Status returns a copy of the current status.
func (s *Syncer) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status
	st.Services = slices.Clone(st.Services)
	st.Routes = slices.Clone(st.Routes)
	st.Events = slices.Clone(st.Events)
	st.Templates = slices.Clone(st.Templates)
	st.Warnings = slices.Clone(st.Warnings)
	st.Unrouted = slices.Clone(st.Unrouted)
	if cs, ok := s.cfg.Source.(ConsulStatuser); ok {
		if c, ok := cs.ConsulStatus(); ok {
			st.Consul = &c
		}
	}
	for _, t := range s.cfg.Targets {
		if hs, ok := t.(HAProxyStatuser); ok {
			h := hs.HAProxyStatus()
			st.HAProxy = &h
		}
	}
	return st
}

// LastEvent returns the newest apply event of target, if any.
func (s *Syncer) LastEvent(target string) (Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.status.Events {
		if e.Target == target {
			return e, true
		}
	}
	return Event{}, false
}

func (s *Syncer) signal() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// Run runs until ctx ends. The HAProxy it started (if any) is the
// caller's to stop afterwards.
func (s *Syncer) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()

	if s.cfg.Listen != "" {
		ln, err := net.Listen("tcp", s.cfg.Listen)
		if err != nil {
			return fmt.Errorf("lbsync: listen %s: %w", s.cfg.Listen, err)
		}
		srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
		wg.Add(2)
		go func() { defer wg.Done(); srv.Serve(ln) }()
		go func() { defer wg.Done(); <-ctx.Done(); srv.Close() }()
	}
	if s.cfg.Templates != nil {
		s.initTemplates()
		wg.Add(1)
		go func() { defer wg.Done(); s.cfg.Templates.Run(ctx) }()
	}
	snaps := make(chan Snapshot)
	srcErr := make(chan error, 1)
	wg.Add(1)
	go func() { defer wg.Done(); srcErr <- s.cfg.Source.Watch(ctx, snaps) }()
	return s.loop(ctx, snaps, srcErr)
}

func (s *Syncer) loop(ctx context.Context, snaps <-chan Snapshot, srcErr <-chan error) error {
	q := &quiescence{clock: s.cfg.Clock, min: s.cfg.WaitMin, max: s.cfg.WaitMax}
	var latest *Snapshot
	var retry Timer
	retryDelay := time.Second
	retryC := func() <-chan time.Time {
		if retry == nil {
			return nil
		}
		return retry.C()
	}
	for {
		apply := false
		select {
		case <-ctx.Done():
			return nil
		case err := <-srcErr:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("lbsync: source stopped: %w", err)
		case snap := <-snaps:
			s.metrics.snapshots.Inc()
			s.times.seen(snap, s.cfg.Clock.Now())
			if snap.Master == nil {
				s.retained = Retain(s.retained, snap)
				snap.Retained = slices.Collect(maps.Values(s.retained))
			}
			first := latest == nil
			latest = &snap
			if first || s.cfg.WaitMin == 0 {
				apply = true // the first render is immediate, as in consul-template
			} else {
				s.fastPass(ctx, snap)
				q.tick() // everything else (and persisting) after quiescence
			}
		case <-q.C():
			q.done()
			apply = true
		case <-retryC():
			retry = nil
			apply = true
		}
		if !apply || latest == nil {
			continue
		}
		if retry != nil {
			retry.Stop()
			retry = nil
		}
		if s.pass(ctx, *latest) {
			retryDelay = time.Second
		} else if ctx.Err() == nil {
			s.cfg.Logger.Warn("apply failed; retrying", "retry_in", Dur(retryDelay))
			retry = s.cfg.Clock.NewTimer(retryDelay)
			retryDelay = min(retryDelay*2, 30*time.Second)
		}
	}
}

// pass builds the model and applies it to every target. It reports
// whether a retry is pointless (everything applied, or only validation
// failures, which only new data can fix).
func (s *Syncer) pass(ctx context.Context, snap Snapshot) bool {
	m, warns := BuildModel(snap, s.cfg.Rules)
	s.logWarnings(warns)
	s.recordOwnership(snap)
	settled := true
	var events []Event
	for _, t := range s.cfg.Targets {
		start := s.cfg.Clock.Now()
		out, err := t.Apply(ctx, m)
		s.stampRouted(t)
		events = append(events, s.event(t.Name(), start, out, err))
		var verr *ValidationError
		if err != nil && !errors.As(err, &verr) {
			settled = false
		}
	}
	s.record(m, len(warns), events, true)
	return settled
}

// fastPass offers the snapshot to every MembershipApplier before the
// debounce: backend membership changes cost no reload, so they need not
// wait.
func (s *Syncer) fastPass(ctx context.Context, snap Snapshot) {
	var m Model
	var warns []Warning
	built := false
	var events []Event
	for _, t := range s.cfg.Targets {
		ma, ok := t.(MembershipApplier)
		if !ok {
			continue
		}
		if !built {
			m, warns = BuildModel(snap, s.cfg.Rules)
			built = true
		}
		start := s.cfg.Clock.Now()
		out, handled, err := ma.ApplyMembership(ctx, m)
		s.stampRouted(t)
		if handled && err == nil && out.Action == ActionNone {
			continue
		}
		if handled || err != nil {
			events = append(events, s.event(t.Name(), start, out, err))
		}
	}
	if len(events) > 0 {
		s.record(m, len(warns), events, false)
	}
}

// stampRouted records when t first served each instance.
func (s *Syncer) stampRouted(t Target) {
	if lb, ok := t.(LiveBackends); ok {
		s.times.applied(lb.LiveIDs(), s.cfg.Clock.Now())
	}
}

// event makes the Event of one apply, counts it and logs it.
func (s *Syncer) event(target string, start time.Time, out Outcome, err error) Event {
	now := s.cfg.Clock.Now()
	ev := Event{At: now, Target: target, Action: out.Action, Why: out.Why, Commands: out.Commands, Duration: now.Sub(start)}
	s.count(target, out, err)
	s.metrics.applyTime.WithLabelValues(target, out.Action).Observe(ev.Duration.Seconds())
	if err != nil {
		ev.Err = err.Error()
		s.cfg.Logger.Error("apply failed", "target", target, "err", err)
	} else if out.Action != ActionNone {
		s.cfg.Logger.Info("applied", "target", target, "action", out.Action, "why", out.Why,
			"commands", out.Commands, "took", Dur(ev.Duration))
	}
	return ev
}

// record publishes a pass: status, gauges, notification. full says every
// target took part (else only the targets in events are replaced).
func (s *Syncer) record(m Model, warnings int, events []Event, full bool) {
	backends := 0
	for _, svc := range m.Services {
		backends += len(svc.Backends)
	}
	kinds := map[string]int{ExcludedNotReady: 0, ExcludedUnhealthy: 0, ExcludedDraining: 0, ExcludedForeign: 0,
		ExcludedStaleOwner: 0, ExcludedStaleTask: 0, ExcludedDisabled: 0}
	for _, svc := range m.Services {
		for _, e := range svc.Excluded {
			kinds[e.Kind]++
		}
	}
	for _, e := range m.Unrouted {
		kinds[e.Kind]++
	}
	for k, n := range kinds {
		s.metrics.excluded.WithLabelValues(k).Set(float64(n))
	}
	s.metrics.services.Set(float64(len(m.Services)))
	s.metrics.backends.Set(float64(backends))
	s.metrics.warnings.Set(float64(warnings))
	ok := true
	s.mu.Lock()
	now := s.cfg.Clock.Now()
	s.status.LastRender = now
	s.status.Default, s.status.Services, s.status.Routes = m.Default, s.times.fill(m.Services), m.Routes
	s.status.Unrouted = m.Unrouted
	s.status.Warnings = s.lastWarn
	for _, e := range events {
		if e.Err != "" {
			ok = false
			s.status.LastError, s.status.LastErrorAt = e.Target+": "+e.Err, e.At
		}
		i := slices.IndexFunc(s.status.Events, func(o Event) bool { return o.Target == e.Target })
		if i < 0 {
			s.status.Events = append(s.status.Events, e)
		} else {
			s.status.Events[i] = e
		}
	}
	s.mu.Unlock()
	if ok && full {
		s.metrics.lastSuccess.Set(float64(now.Unix()))
	}
	s.signal()
}

func (s *Syncer) count(target string, out Outcome, err error) {
	var verr *ValidationError
	switch {
	case errors.As(err, &verr):
		s.metrics.validation.WithLabelValues(target).Inc()
		s.metrics.errors.WithLabelValues(target).Inc()
		return
	case err != nil:
		s.metrics.errors.WithLabelValues(target).Inc()
		return
	}
	if out.Action == ActionNone {
		return
	}
	s.metrics.renders.WithLabelValues(target).Inc()
	switch out.Action {
	case ActionRuntime:
		s.metrics.runtime.WithLabelValues("ok").Inc()
	case ActionPersist:
	default:
		s.metrics.reloads.WithLabelValues(target, "ok").Inc()
	}
}

// recordOwnership publishes who decides ownership and the cluster id.
func (s *Syncer) recordOwnership(snap Snapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status.Ownership, s.status.ClusterID = "instances", s.cfg.Rules.ClusterID
	if snap.Master != nil {
		s.status.Ownership = "master"
		if s.status.ClusterID == "" {
			s.status.ClusterID = snap.Master.ClusterID
		}
	}
}

// logWarnings logs the model's warnings when they differ from last pass.
func (s *Syncer) logWarnings(warns []Warning) {
	var lines []string
	for _, w := range warns {
		lines = append(lines, w.String())
	}
	s.mu.Lock()
	same := slices.Equal(lines, s.lastWarn)
	s.lastWarn = lines
	s.mu.Unlock()
	if same {
		return
	}
	for _, l := range lines {
		s.cfg.Logger.Warn("label rejected", "warning", l)
	}
}

func (s *Syncer) initTemplates() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, spec := range s.cfg.Templates.cfg.Templates {
		s.status.Templates = append(s.status.Templates, TemplateStatus{TemplateSpec: spec})
	}
}

// TemplateResult records a consul-template render outcome; wire it as
// TemplateRunnerConfig.OnResult.
func (s *Syncer) TemplateResult(spec TemplateSpec, err error) {
	s.mu.Lock()
	for i := range s.status.Templates {
		ts := &s.status.Templates[i]
		if ts.Destination != spec.Destination {
			continue
		}
		now := s.cfg.Clock.Now()
		if s.cfg.Templates != nil {
			ts.Restarts = s.cfg.Templates.Restarts()
		}
		if err != nil {
			ts.LastError = err.Error()
			s.status.LastError, s.status.LastErrorAt = "nginx:"+spec.Destination+": "+err.Error(), now
		} else {
			ts.LastError, ts.LastRender = "", now
		}
	}
	s.mu.Unlock()
	target := "nginx:" + spec.Destination
	if err != nil {
		s.count(target, Outcome{}, err)
	} else {
		s.count(target, Outcome{Action: ActionWrite}, nil)
	}
	s.signal()
}

// Retain returns prev updated with snap: by servicePort, the instance with
// the newest berth_version seen on it (ties: the later snapshot). Without
// a master, lbsync cannot tell an app scaled to 0 from a destroyed one, so
// an emptied servicePort keeps its frontend (answering 503, or closing TCP
// connections) for as long as this lbsync runs; a new app given the port
// takes it over with its first instance. It is pure (prev is not changed).
func Retain(prev map[int]Instance, snap Snapshot) map[int]Instance {
	next := make(map[int]Instance, len(prev))
	maps.Copy(next, prev)
	seen := map[int]bool{}
	for _, in := range snap.Instances {
		port, err := parsePort(in.Meta[MetaServicePort])
		if err != nil {
			continue
		}
		if old, ok := next[port]; ok && seen[port] && old.Meta[MetaVersion] > in.Meta[MetaVersion] {
			continue
		}
		seen[port] = true
		next[port] = in
	}
	return next
}
