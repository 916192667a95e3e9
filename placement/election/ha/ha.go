package ha

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/berth-platform/berth/placement/election"
	"github.com/berth-platform/berth/placement/forward"
	"github.com/berth-platform/berth/placement/store"
	"github.com/berth-platform/berth/placement/zkstore"
)

// Leader is the leader side of a master for one term (*master.Master fits).
type Leader interface {
	// Handler serves the API while this master leads.
	Handler() http.Handler
	// Run does the leader's work until ctx ends.
	Run(ctx context.Context) error
}

// Config configures a Node.
type Config struct {
	// ZK is the ZooKeeper URL, zk://h1:2181,h2:2181/berth.
	ZK string
	// Self is this master's advertised URL (http://host:port).
	Self string
	// SessionTimeout is the ZooKeeper session timeout, i.e. how long a dead
	// leader keeps the leadership (default 10 s, Marathon's).
	SessionTimeout time.Duration
	// RetryFor bounds the store's retries after a lost connection
	// (default 10 s).
	RetryFor time.Duration
	// ForwardWait is how long a request waits for a leader during a
	// failover (default SessionTimeout + 1 s).
	ForwardWait time.Duration
	// NewLeader builds the leader side on st (fenced: its writes fail once
	// the term is over) and loads the state; ctx is the term's context.
	NewLeader func(ctx context.Context, st store.Store) (Leader, error)
	// Standby answers the local paths (forward.DefaultLocal, or Local)
	// while this master does not lead.
	Standby http.Handler
	// Local overrides which requests every master answers itself.
	Local func(*http.Request) bool
	// Logger receives elections, terms and failures.
	Logger *slog.Logger
}

// Node is one master of the group.
type Node struct {
	cfg    Config
	log    *slog.Logger
	st     *zkstore.Store
	el     *election.Elector
	active atomic.Pointer[http.Handler] // the running term's handler
	h      http.Handler
}

// New opens the store (bounded by ctx) and prepares the election; Run
// starts campaigning.
func New(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.NewLeader == nil || cfg.Standby == nil {
		return nil, errors.New("ha: config: NewLeader and Standby are required")
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = 10 * time.Second
	}
	if cfg.ForwardWait <= 0 {
		cfg.ForwardWait = cfg.SessionTimeout + time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	zc, err := zkstore.ParseURL(cfg.ZK)
	if err != nil {
		return nil, fmt.Errorf("ha: %w", err)
	}
	zc.SessionTimeout, zc.RetryFor, zc.Logger = cfg.SessionTimeout, cfg.RetryFor, cfg.Logger
	n := &Node{cfg: cfg, log: cfg.Logger}
	n.el, err = election.New(election.Config{Servers: zc.Servers, Root: zc.Root, Self: cfg.Self,
		SessionTimeout: cfg.SessionTimeout, Lead: n.lead, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("ha: %w", err)
	}
	n.h, err = forward.New(forward.Config{Self: cfg.Self, Leadership: n, Local: cfg.Local,
		Wait: cfg.ForwardWait, Logger: cfg.Logger}, http.HandlerFunc(n.serve))
	if err != nil {
		return nil, fmt.Errorf("ha: %w", err)
	}
	if n.st, err = zkstore.Open(ctx, zc); err != nil {
		return nil, fmt.Errorf("ha: %w", err)
	}
	return n, nil
}

// Run campaigns until ctx ends, then closes the store. The leader's work
// has stopped when Run returns.
func (n *Node) Run(ctx context.Context) error {
	defer n.st.Close()
	return n.el.Run(ctx)
}

// Handler is the HTTP handler of this master: serve it on its listener.
func (n *Node) Handler() http.Handler { return n.h }

// IsLeader reports whether this master leads and its leader side is
// loaded and serving.
func (n *Node) IsLeader() bool { return n.el.IsLeader() && n.active.Load() != nil }

// Leader returns the leader's URL (ok false when unknown).
func (n *Node) Leader() (string, bool) { return n.el.Leader() }

// Status is the election's view (Connected, Elected, Leader).
func (n *Node) Status() election.Status { return n.el.Status() }

// Abdicate ends this master's term (election.ErrNotLeader elsewhere); the
// next candidate takes over and this one rejoins. Never call it from inside
// the Leader's Run.
func (n *Node) Abdicate(ctx context.Context) error { return n.el.Abdicate(ctx) }

// Candidates lists the group's masters as ZooKeeper has them, the leader
// first (election.Elector.Candidates).
func (n *Node) Candidates(ctx context.Context) ([]election.Candidate, error) {
	return n.el.Candidates(ctx)
}

// Store is the underlying (unfenced) store, e.g. for read-only tools.
func (n *Node) Store() *zkstore.Store { return n.st }

// lead is the election's Lead: one term.
func (n *Node) lead(ctx context.Context, term election.Term) {
	start := time.Now()
	l, err := n.cfg.NewLeader(ctx, n.st.Fenced(term.Node))
	if err != nil {
		n.log.Error("ha: elected but cannot lead; giving the leadership up", "err", err)
		return
	}
	h := l.Handler()
	n.active.Store(&h)
	defer n.active.Store(nil)
	n.log.Info("ha: leading", "self", n.cfg.Self, "loaded_in", time.Since(start).Round(time.Millisecond))
	if err := l.Run(ctx); err != nil && ctx.Err() == nil {
		n.log.Error("ha: leader stopped on its own; giving the leadership up", "err", err)
	}
}

// serve is what forward hands over: this master's own answers.
func (n *Node) serve(w http.ResponseWriter, r *http.Request) {
	if h := n.active.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	n.cfg.Standby.ServeHTTP(w, r)
}
