// Command hello is the tiny HTTP server in the berth/hello example image.
//
// It listens on $PORT0 (or $PORT, or 80) and answers every request with the
// container's hostname, the task id (MESOS_TASK_ID) and the request's Host
// header, one "key: value" line each, so tests and people can see which
// instance answered. GET /health answers 200 "ok".
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		log.Error("hello stopped", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	addr := net.JoinHostPort("", listenPort(os.Getenv))
	host, _ := os.Hostname()
	srv := &http.Server{
		Addr:              addr,
		Handler:           handler(host, os.Getenv("MESOS_TASK_ID")),
		ReadHeaderTimeout: 10 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("hello listening", "addr", addr, "hostname", host)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// listenPort picks the port the way a Marathon task would: PORT0, PORT, 80.
func listenPort(getenv func(string) string) string {
	for _, k := range []string{"PORT0", "PORT"} {
		if v := getenv(k); v != "" {
			return v
		}
	}
	return "80"
}

func handler(hostname, taskID string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "hostname: %s\ntask: %s\nhost: %s\npath: %s\n", hostname, taskID, r.Host, r.URL.Path)
	})
	return mux
}
