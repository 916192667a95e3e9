package master

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/berth-platform/berth/placement/store"
)

// ServerConfig configures Serve: a master with the embedded store in
// WorkDir (or, with ZK, one member of a group sharing a ZooKeeper state),
// listening on Listen (TLS when both TLSCert and TLSKey are set).
type ServerConfig struct {
	Listen  string
	WorkDir string
	TLSCert string
	TLSKey  string
	// ZK, when set (zk://h1:2181,h2:2181/berth), keeps the state in
	// ZooKeeper and makes this master one of a group that elects a leader
	// there; the others forward every request to it. Empty: the embedded
	// store in WorkDir, and this master always leads.
	ZK string
	// ZKSessionTimeout is the ZooKeeper session timeout: how long a dead
	// leader keeps the leadership (default 10 s).
	ZKSessionTimeout time.Duration
	// ZKRetry bounds the store's retries after a lost ZooKeeper
	// connection (default 10 s).
	ZKRetry time.Duration
	// Master is the master's configuration; Store and Advertise are
	// filled in by Serve when empty (Advertise: the bound address).
	Master Config
	// Ready, if set, is called with the bound address once listening.
	Ready func(addr string)
	// UIRoutesURL is lbsync's status address for the console's routes
	// page (empty: not configured).
	UIRoutesURL string
	// UIRoutesCredentials "user:pass" is sent as basic auth to
	// UIRoutesURL (lbsync --status-credentials).
	UIRoutesCredentials string
	// ChronosListen, when set, also serves the Chronos API there
	// (jobs_listen.go).
	ChronosListen string
	// ReadHeaderTimeout and IdleTimeout of every server Serve starts
	// (defaults DefaultReadHeaderTimeout, DefaultIdleTimeout).
	ReadHeaderTimeout, IdleTimeout time.Duration
}

// Serve opens the store, builds the master and serves its API until ctx
// ends; then it shuts the server down and closes the store. With cfg.ZK
// it campaigns for the leadership and builds the master for each term.
func Serve(ctx context.Context, cfg ServerConfig) error {
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return errors.New("master: --tls-cert and --tls-key go together")
	}
	if cfg.Master.Logger == nil {
		cfg.Master.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Master.Store == nil && cfg.ZK == "" {
		st, err := store.OpenBolt(store.BoltConfig{Dir: cfg.WorkDir})
		if err != nil {
			return err
		}
		defer st.Close()
		cfg.Master.Store = st
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("master: listen %s: %w", cfg.Listen, err)
	}
	if cfg.Master.Advertise == "" {
		cfg.Master.Advertise = ln.Addr().String()
	}
	cfg.Master.TLS = cfg.TLSCert != ""
	if cfg.ZK != "" {
		return serveHA(ctx, cfg, ln)
	}
	m, err := New(ctx, cfg.Master)
	if err != nil {
		ln.Close()
		return err
	}
	h, err := withUI(m.Handler(), cfg)
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
	go func() { runDone <- m.Run(ctx) }()
	serveDone := make(chan error, 1)
	go func() { serveDone <- serveOn(srv, ln, cfg) }()
	m.log.Info("master: serving", "addr", ln.Addr().String(), "tls", cfg.TLSCert != "")
	if cfg.Ready != nil {
		cfg.Ready(ln.Addr().String())
	}
	return finish(ctx, cancel, srv, runDone, serveDone)
}

func serveOn(srv *http.Server, ln net.Listener, cfg ServerConfig) error {
	if cfg.TLSCert != "" {
		return srv.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey)
	}
	return srv.Serve(ln)
}

// finish waits for ctx or a failed server, stops the run loop (which ends
// long polls and event streams) and shuts the server down.
func finish(ctx context.Context, cancel context.CancelFunc, srv *http.Server, runDone, serveDone <-chan error) error {
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-serveDone:
	case runErr := <-runDone:
		// Run only ends early on a failure (e.g. the ZooKeeper session
		// could not be re-established): stop serving.
		cancel()
		shutdown(srv)
		if runErr != nil {
			return fmt.Errorf("master: %w", runErr)
		}
		return nil
	}
	cancel()
	<-runDone // Run returns nil once cancelled
	shutdown(srv)
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("master: serve: %w", serveErr)
	}
	return nil
}

func shutdown(srv *http.Server) {
	shutCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	_ = srv.Shutdown(shutCtx)
}
