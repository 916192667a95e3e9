package master

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
)

// listenChronos serves the Chronos API (/scheduler/…, /v1/scheduler/…
// and /ping) on its own address (--chronos-listen, Chronos' conventional
// 4400) with the master's handler h: the same basic auth and, in a
// ZooKeeper group, the same leader forwarding. The returned func stops it.
func listenChronos(cfg ServerConfig, h http.Handler) (func(), error) {
	if cfg.ChronosListen == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", cfg.ChronosListen)
	if err != nil {
		return nil, fmt.Errorf("master: --chronos-listen %s: %w", cfg.ChronosListen, err)
	}
	only := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if strings.HasPrefix(p, "/scheduler/") || strings.HasPrefix(p, "/v1/scheduler/") {
			h.ServeHTTP(w, r)
			return
		}
		if p == "/ping" {
			_, _ = io.WriteString(w, "pong\n")
			return
		}
		http.NotFound(w, r)
	})
	srv := newHTTPServer(only, cfg)
	go func() { _ = serveOn(srv, ln, cfg) }()
	cfg.Master.Logger.Info("master: serving the Chronos API", "addr", ln.Addr().String())
	return func() { shutdown(srv) }, nil
}
