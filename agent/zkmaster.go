package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/berth-platform/berth/internal/wire"
	"github.com/berth-platform/berth/placement/election"
	"github.com/berth-platform/berth/placement/zkstore"
)

// ZKMasterConfig configures a ZKMaster.
type ZKMasterConfig struct {
	// URL is the masters' ZooKeeper URL, zk://h1:2181,h2:2181/berth.
	URL string
	// Secret is --agent-secret, sent as a bearer token.
	Secret string
	// SessionTimeout is the observer's ZooKeeper session timeout
	// (default 10 s).
	SessionTimeout time.Duration
	// LeaderWait bounds how long a call waits for a leader to be known
	// (default 15 s); it then fails and the agent retries with backoff.
	LeaderWait time.Duration
	Client     *http.Client
	Logger     *slog.Logger
}

// ZKMaster is a Master that follows the leading master as elected in
// ZooKeeper (`berth agent --master zk://…/berth`). It observes the election
// (without campaigning) and sends every call to the current leader. When
// the leader changes, the next Desired (or the one in flight) answers
// ErrUnknownAgent, so the agent registers again with the new leader and
// reconciles its tasks there; running tasks are untouched throughout.
// Every master forwards to the leader, so a call that races a failover
// still lands on the leader.
type ZKMaster struct {
	cfg ZKMasterConfig
	obs *election.Elector
	log *slog.Logger

	mu         sync.Mutex
	clients    map[string]*HTTPMaster // by leader URL
	registered string                 // the leader the agent last registered with
}

// NewZKMaster parses the URL and prepares the observer; Run starts it.
func NewZKMaster(cfg ZKMasterConfig) (*ZKMaster, error) {
	zc, err := zkstore.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("master url: %w", err)
	}
	if cfg.LeaderWait <= 0 {
		cfg.LeaderWait = 15 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	obs, err := election.New(election.Config{Servers: zc.Servers, Root: zc.Root,
		SessionTimeout: cfg.SessionTimeout, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("master url %q: %w", cfg.URL, err)
	}
	return &ZKMaster{cfg: cfg, obs: obs, log: cfg.Logger, clients: map[string]*HTTPMaster{}}, nil
}

// Run observes the election until ctx ends.
func (z *ZKMaster) Run(ctx context.Context) error { return z.obs.Run(ctx) }

// Leader returns the current leader's URL (ok false when unknown).
func (z *ZKMaster) Leader() (string, bool) { return z.obs.Leader() }

// leader waits (within LeaderWait and ctx) until a leader is known and
// returns a client for it.
func (z *ZKMaster) leader(ctx context.Context) (string, *HTTPMaster, error) {
	deadline := time.NewTimer(z.cfg.LeaderWait)
	defer deadline.Stop()
	for {
		if u, ok := z.obs.Leader(); ok {
			c, err := z.client(u)
			return u, c, err
		}
		select {
		case <-ctx.Done():
			return "", nil, ctx.Err()
		case <-deadline.C:
			return "", nil, fmt.Errorf("no leading master known in ZooKeeper (%s) after %s", z.cfg.URL, z.cfg.LeaderWait)
		case <-z.obs.Changes():
		case <-time.After(100 * time.Millisecond):
			// Changes has one reader slot; poll too in case the Desired
			// watcher took the poke.
		}
	}
}

func (z *ZKMaster) client(u string) (*HTTPMaster, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if c := z.clients[u]; c != nil {
		return c, nil
	}
	c, err := NewHTTPMaster(HTTPMasterConfig{URL: u, Secret: z.cfg.Secret, Client: z.cfg.Client})
	if err != nil {
		return nil, fmt.Errorf("leader %w", err)
	}
	if len(z.clients) > 8 {
		clear(z.clients) // leaders come and go; keep the map small
	}
	z.clients[u] = c
	return c, nil
}

// Register implements Master: it registers with the current leader.
func (z *ZKMaster) Register(ctx context.Context, reg wire.Registration) (wire.Registered, error) {
	u, c, err := z.leader(ctx)
	if err != nil {
		return wire.Registered{}, fmt.Errorf("master: register %s: %w", reg.Hostname, err)
	}
	out, err := c.Register(ctx, reg)
	if err != nil {
		return out, err
	}
	z.mu.Lock()
	z.registered = u
	z.mu.Unlock()
	return out, nil
}

// Desired implements Master: it long-polls the current leader, and
// answers ErrUnknownAgent (register again) as soon as the leader is not
// the one the agent registered with.
func (z *ZKMaster) Desired(ctx context.Context, agentID string, index uint64, epoch string, wait time.Duration) (wire.Desired, error) {
	u, c, err := z.leader(ctx)
	if err != nil {
		return wire.Desired{}, fmt.Errorf("master: desired tasks of %s: %w", agentID, err)
	}
	if err := z.changed(u); err != nil {
		return wire.Desired{}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	watchDone := make(chan struct{})
	defer func() { cancel(); <-watchDone }()
	go func() { // cut the poll short when the leader changes
		defer close(watchDone)
		tick := time.NewTicker(250 * time.Millisecond) // Changes may be taken by another caller
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-z.obs.Changes():
			case <-tick.C:
			}
			if l, ok := z.obs.Leader(); ok && l != u {
				cancel()
				return
			}
		}
	}()
	d, err := c.Desired(ctx, agentID, index, epoch, wait)
	if err != nil && ctx.Err() != nil {
		if cerr := z.changed(u); cerr != nil {
			return wire.Desired{}, cerr
		}
	}
	return d, err
}

// changed returns ErrUnknownAgent when the leader now differs from the one
// the agent registered with (u is the leader the caller is talking to).
func (z *ZKMaster) changed(u string) error {
	if l, ok := z.obs.Leader(); ok {
		u = l
	}
	z.mu.Lock()
	reg := z.registered
	z.mu.Unlock()
	if reg != "" && reg != u {
		z.log.Info("the leading master changed; registering with the new one", "from", reg, "to", u)
		return fmt.Errorf("%w: the leading master changed from %s to %s", ErrUnknownAgent, reg, u)
	}
	return nil
}

// Status implements Master: status batches go to the current leader.
func (z *ZKMaster) Status(ctx context.Context, agentID string, batch wire.StatusBatch) (wire.Ack, error) {
	_, c, err := z.leader(ctx)
	if err != nil {
		return wire.Ack{}, fmt.Errorf("master: status updates of %s: %w", agentID, err)
	}
	return c.Status(ctx, agentID, batch)
}
