package master

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/berth-platform/berth/placement/store"
)

// ServerConfig configures Serve: a master with the embedded store in
// WorkDir, listening on Listen (TLS when both TLSCert and TLSKey are set).
type ServerConfig struct {
	Listen  string
	WorkDir string
	TLSCert string
	TLSKey  string
	// Master is the master's configuration; Store and Advertise are
	// filled in by Serve when empty.
	Master Config
	// Ready, if set, is called with the bound address once listening.
	Ready func(addr string)
}

// Serve opens the store, builds the master and serves its API until ctx
// ends; then it shuts the server down and closes the store.
func Serve(ctx context.Context, cfg ServerConfig) error {
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return errors.New("master: --tls-cert and --tls-key go together")
	}
	if cfg.Master.Store == nil {
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
	m, err := New(ctx, cfg.Master)
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{Handler: m.Handler(), ReadHeaderTimeout: 10 * time.Second}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runDone := make(chan error, 1)
	go func() { runDone <- m.Run(ctx) }()
	serveDone := make(chan error, 1)
	go func() {
		if cfg.TLSCert != "" {
			serveDone <- srv.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey)
		} else {
			serveDone <- srv.Serve(ln)
		}
	}()
	m.log.Info("master: serving", "addr", ln.Addr().String(), "tls", cfg.TLSCert != "")
	if cfg.Ready != nil {
		cfg.Ready(ln.Addr().String())
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-serveDone:
	}
	cancel()
	<-runDone // closes long polls and event streams
	shutCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	_ = srv.Shutdown(shutCtx)
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("master: serve: %w", serveErr)
	}
	return nil
}
