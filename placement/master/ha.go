package master

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/berth-platform/berth/placement/election"
	"github.com/berth-platform/berth/placement/election/ha"
	"github.com/berth-platform/berth/placement/store"
)

// sweepDelay is how long a term runs before it sweeps the ZooKeeper store
// for orphaned chunks: late enough not to slow a failover down, and a term
// that short-lived leaves the sweep to the next one.
const sweepDelay = time.Minute

// haLeader is one term's leader side: the master built over the fenced
// store, plus a sweep of orphaned chunks once the term has lasted a while.
type haLeader struct {
	*Master
	node *ha.Node
}

// Run runs the master for the term and, after sweepDelay, sweeps once.
func (l haLeader) Run(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-ctx.Done():
			return
		case <-time.After(sweepDelay):
		}
		n, err := l.node.Store().Sweep(ctx, 0)
		if err != nil && ctx.Err() == nil {
			l.log.Warn("master: sweeping orphaned ZooKeeper chunks failed", "err", err)
			return
		}
		if n > 0 {
			l.log.Info("master: swept orphaned ZooKeeper chunks", "deleted", n)
		}
	}()
	defer func() { <-done }()
	return l.Master.Run(ctx)
}

// newHANode builds the ha.Node of a master sharing cfg.ZK with others:
// each term builds a Master over the term's fenced store; between terms a
// standby answers /ping, GET /v2/leader and GET /v2/info itself and
// everything else (agents' /internal calls included, with their
// Authorization header) is forwarded to the leader.
func newHANode(ctx context.Context, cfg ServerConfig, self string) (*ha.Node, error) {
	var node *ha.Node
	mc := cfg.Master
	mc.ZK = cfg.ZK
	standby, err := newStandby(mc, func() Leadership { return node })
	if err != nil {
		return nil, err
	}
	node, err = ha.New(ctx, ha.Config{
		ZK: cfg.ZK, Self: self, SessionTimeout: cfg.ZKSessionTimeout, RetryFor: cfg.ZKRetry,
		Standby: standby, Logger: mc.Logger,
		NewLeader: func(ctx context.Context, st store.Store) (ha.Leader, error) {
			c := mc
			c.Store, c.Leadership = st, node
			m, err := New(ctx, c)
			if err != nil {
				return nil, err
			}
			return haLeader{Master: m, node: node}, nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("master: %w", err)
	}
	return node, nil
}

// newStandby is what a master that does not lead answers itself. It
// shares the leader's handlers for /v2/info and /v2/leader (they read only
// the configuration and the election) behind the same basic auth.
func newStandby(cfg Config, leadership func() Leadership) (http.Handler, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	sb := &Master{cfg: cfg, log: cfg.Logger}
	sb.cfg.Leadership = lazyLeadership(leadership)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/info", sb.handleInfo)
	mux.HandleFunc("GET /v2/leader", sb.handleLeader)
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "pong\n")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		// Only reached if forwarding's Local selects more paths than
		// this standby serves.
		writeMessage(w, http.StatusServiceUnavailable, "This master is a standby and does not serve this path")
	})
	return sb.basicAuth(mux), nil
}

// lazyLeadership resolves the node once it exists (the standby is built
// before the node that serves it).
type lazyLeadership func() Leadership

func (f lazyLeadership) Leader() (string, bool)             { return f().Leader() }
func (f lazyLeadership) IsLeader() bool                     { return f().IsLeader() }
func (f lazyLeadership) Abdicate(ctx context.Context) error { return f().Abdicate(ctx) }

// Candidates lists the group's masters when the node can (candidateLister).
func (f lazyLeadership) Candidates(ctx context.Context) ([]election.Candidate, error) {
	if cl, ok := f().(candidateLister); ok {
		return cl.Candidates(ctx)
	}
	return nil, errNoCandidates
}

// serveHA serves a master of a highly available group on ln until ctx
// ends: campaign, lead when elected, forward otherwise.
func serveHA(ctx context.Context, cfg ServerConfig, ln net.Listener) error {
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	node, err := newHANode(ctx, cfg, scheme+"://"+cfg.Master.Advertise)
	if err != nil {
		ln.Close()
		return err
	}
	h, err := withUI(node.Handler(), cfg)
	if err != nil {
		ln.Close()
		return err
	}
	stopChronos, err := listenChronos(cfg, h)
	if err != nil {
		ln.Close()
		return err
	}
	defer stopChronos()
	srv := newHTTPServer(h, cfg)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runDone := make(chan error, 1)
	go func() { runDone <- node.Run(ctx) }()
	serveDone := make(chan error, 1)
	go func() { serveDone <- serveOn(srv, ln, cfg) }()
	cfg.Master.Logger.Info("master: serving as a member of a ZooKeeper group", "addr", ln.Addr().String(),
		"advertise", cfg.Master.Advertise, "zk", cfg.ZK, "tls", cfg.TLSCert != "")
	if cfg.Ready != nil {
		cfg.Ready(ln.Addr().String())
	}
	return finish(ctx, cancel, srv, runDone, serveDone)
}
