// Command hello is the tiny HTTP server in the berth/hello example image.
//
// It listens on 80 when the platform asked for container port 80 (Marathon
// sets $PORT_80 then, to the host port that maps to it: BRIDGE networking
// with containerPort 80), else on $PORT0 (or $PORT, or 80), and answers every request with the
// container's hostname, the task id (MESOS_TASK_ID) and the request's Host
// header, one "key: value" line each, so tests and people can see which
// instance answered. GET /health answers 200 "ok". /kv/<key> is a tiny
// in-memory key-value store (PUT stores the body, GET returns it, DELETE
// removes it) for the key-value example app.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
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

// listenPort picks the port the way a Marathon task would: the image's own
// port 80 when the app maps containerPort 80 ($PORT_80 set; $PORT0 is then
// the host port, which does not exist inside the container's network),
// else PORT0, PORT, 80.
func listenPort(getenv func(string) string) string {
	if getenv("PORT_80") != "" {
		return "80"
	}
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
	mux.Handle("/kv/", newKV())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "hostname: %s\ntask: %s\nhost: %s\npath: %s\n", hostname, taskID, r.Host, r.URL.Path)
	})
	return mux
}

// kv is an in-memory key-value store served under /kv/<key>.
type kv struct {
	mu   sync.Mutex
	data map[string][]byte
}

func newKV() *kv { return &kv{data: map[string][]byte{}} }

const maxValue = 1 << 20

func (s *kv) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := strings.TrimPrefix(r.URL.Path, "/kv/")
	if key == "" {
		http.Error(w, "key missing: use /kv/<key>", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Method {
	case http.MethodGet:
		v, ok := s.data[key]
		if !ok {
			http.Error(w, "no such key", http.StatusNotFound)
			return
		}
		w.Write(v)
	case http.MethodPut, http.MethodPost:
		v, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxValue))
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		s.data[key] = v
		w.WriteHeader(http.StatusNoContent)
	case http.MethodDelete:
		delete(s.data, key)
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}
