package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/berth-platform/berth/internal/wire"
)

// Agent runs the tasks the master places on this node.
type Agent struct {
	cfg     Config
	log     *slog.Logger
	journal *Journal
	store   *recordStore
	url     string

	trigger     chan struct{} // capacity 1: reconcile now
	sendTrigger chan struct{} // capacity 1: send pending status updates

	mu             sync.Mutex
	id             string
	clusterID      string // from the master's Registered; "" = none sent
	list           taskList
	foreign        map[string]string // task id -> why it is not ours (logged once)
	desired        *wire.Desired     // nil until the first answer
	known          map[string]bool
	orphanDeadline time.Time
	tasks          map[string]*taskRecord
	observed       map[string]Observed
	busy           map[string]ActionKind
	health         map[string]*healthRunner
	actions        sync.WaitGroup
	gen            uint64 // bumped when an action finishes
	passes         uint64 // reconcile passes started (tests, debugging)
	events         uint64 // runtime change notifications received
	// The last successful list: valid while gen and events are unchanged.
	listed              bool
	listGen, listEvents uint64
	listAt              time.Time
	checks              healthChecks
}

type agentFile struct {
	ID        string `json:"id"`
	ClusterID string `json:"clusterId,omitempty"`
}

// New validates cfg and opens the agent's work dir: its id, its task
// records and its status journal.
func New(cfg Config) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return nil, fmt.Errorf("agent: create work dir %s: %w", cfg.WorkDir, err)
	}
	var af agentFile
	if err := readJSONFile(filepath.Join(cfg.WorkDir, "agent.json"), &af); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("agent: %w", err)
	}
	j, err := OpenJournal(filepath.Join(cfg.WorkDir, "journal"))
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	store, recs, err := openRecords(filepath.Join(cfg.WorkDir, "tasks"))
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	a := &Agent{
		cfg: cfg, log: cfg.Logger, journal: j, store: store, id: af.ID, clusterID: af.ClusterID, foreign: map[string]string{},
		trigger: make(chan struct{}, 1), sendTrigger: make(chan struct{}, 1),
		known: map[string]bool{}, tasks: recs, observed: map[string]Observed{},
		busy: map[string]ActionKind{}, health: map[string]*healthRunner{},
	}
	a.checks.client = newHealthHTTPClient()
	a.url = cfg.URL
	if a.url == "" && cfg.Listener != nil {
		a.url = listenerURL(cfg.Listener.Addr(), cfg.AdvertiseIP)
	}
	return a, nil
}

// listenerURL turns a listening address into a URL others can reach: an
// unspecified host (0.0.0.0, ::) becomes the advertised IP or 127.0.0.1.
func listenerURL(addr net.Addr, advertise string) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = advertise
		if host == "" {
			host = "127.0.0.1"
		}
	}
	return "http://" + net.JoinHostPort(host, port)
}

// ID is the agent id the master gave (empty before the first registration).
func (a *Agent) ID() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.id
}

// Run registers with the master and converges the node until ctx is done.
// It returns nil on cancellation. Tasks keep running after Run returns.
func (a *Agent) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	if a.cfg.Listener != nil {
		srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := srv.Serve(a.cfg.Listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
				select {
				case errc <- fmt.Errorf("agent: serve api: %w", err):
				default:
				}
				cancel()
			}
		}()
		go func() {
			defer wg.Done()
			<-ctx.Done()
			shutCtx, c := context.WithTimeout(context.Background(), 2*time.Second)
			defer c()
			if srv.Shutdown(shutCtx) != nil {
				srv.Close() // log followers still attached: cut them off
			}
		}()
	}
	run := func(f func(context.Context)) {
		wg.Add(1)
		go func() { defer wg.Done(); f(ctx) }()
	}
	run(a.session)
	run(a.sendLoop)
	run(a.reconcileLoop)
	for name, rt := range a.cfg.Runtimes {
		if w, ok := rt.(Watcher); ok {
			run(func(ctx context.Context) { a.watchLoop(ctx, name, w) })
		}
	}
	<-ctx.Done()
	wg.Wait()
	a.actions.Wait()
	a.stopAllHealth()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// poke wakes the reconcile loop without blocking.
func (a *Agent) poke() {
	select {
	case a.trigger <- struct{}{}:
	default:
	}
}

// runtimeChanged invalidates the last list and wakes the loop.
func (a *Agent) runtimeChanged() {
	a.mu.Lock()
	a.events++
	a.mu.Unlock()
	a.poke()
}

func (a *Agent) pokeSender() {
	select {
	case a.sendTrigger <- struct{}{}:
	default:
	}
}

// watchLoop forwards a runtime's change notifications to the reconcile
// trigger, reconnecting with backoff; each reconnect is a full resync.
func (a *Agent) watchLoop(ctx context.Context, name string, w Watcher) {
	b := newBackoff(200*time.Millisecond, 10*time.Second)
	for ctx.Err() == nil {
		id := a.ID()
		if id == "" {
			if !sleepCtx(ctx, 200*time.Millisecond) {
				return
			}
			continue
		}
		start := time.Now()
		err := w.Watch(ctx, id, a.runtimeChanged)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > time.Minute {
			b.reset()
		}
		d := b.next()
		a.log.Warn("runtime event stream ended; resyncing and reconnecting", "runtime", name, "err", err, "retry_in", d.String())
		a.runtimeChanged()
		if !sleepCtx(ctx, d) {
			return
		}
	}
}

type backoff struct{ min, max, cur time.Duration }

func newBackoff(min, max time.Duration) *backoff { return &backoff{min: min, max: max} }

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else if b.cur *= 2; b.cur > b.max {
		b.cur = b.max
	}
	return b.cur
}

func (b *backoff) reset() { b.cur = 0 }

// sleepCtx waits d or until ctx is done; false when ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// observedID is the runtime id the agent last observed for a task (tests,
// debugging).
func (a *Agent) observedID(taskID string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.observed[taskID].RuntimeID
}
