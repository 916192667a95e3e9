package chaos

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// LoadConfig bounds a load run: it stops at Max requests, after For, or
// when its context ends, whichever comes first.
type LoadConfig struct {
	URL     string        // GET target, e.g. http://127.0.0.1:<servicePort>/
	Rate    int           // requests per second (a token ticker)
	Workers int           // concurrent clients
	Max     int64         // at most this many requests
	For     time.Duration // at most this long
	Timeout time.Duration // per request; 5 s when zero
}

// ReqError is one failed request: when it was sent and why it failed.
type ReqError struct {
	At  time.Time
	Err string
}

// maxErrors bounds how many failed requests a Load keeps (it counts all).
const maxErrors = 1000

// Load is a running load generator. Its counters are safe to read while it
// runs; Stop ends it and waits for its goroutines.
type Load struct {
	sent, failed atomic.Int64
	cancel       context.CancelFunc
	wg           sync.WaitGroup

	mu   sync.Mutex
	errs []ReqError
}

// StartLoad sends GETs to cfg.URL until a bound in cfg is reached or Stop
// is called. A request fails on a transport error or any status but 200.
func StartLoad(ctx context.Context, cfg LoadConfig) *Load {
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.For)
	l := &Load{cancel: cancel}
	tokens := make(chan struct{}, cfg.Rate)
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer close(tokens)
		l.tick(ctx, cfg, tokens)
	}()
	client := &http.Client{Timeout: cfg.Timeout,
		Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Workers, DisableCompression: true}}
	for range cfg.Workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for range tokens {
				l.one(ctx, client, cfg.URL)
			}
		}()
	}
	return l
}

// tick hands out one token per 1/Rate s until ctx ends or Max tokens went
// out; a token nobody takes in time is dropped (the achieved rate shows it).
func (l *Load) tick(ctx context.Context, cfg LoadConfig, tokens chan<- struct{}) {
	t := time.NewTicker(time.Second / time.Duration(cfg.Rate))
	defer t.Stop()
	var issued int64
	for issued < cfg.Max {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			select {
			case tokens <- struct{}{}:
				issued++
			default:
			}
		}
	}
}

func (l *Load) one(ctx context.Context, client *http.Client, url string) {
	at := time.Now()
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodGet, url, nil)
	if err != nil {
		l.fail(at, err)
		return
	}
	l.sent.Add(1)
	resp, err := client.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("status %s", resp.Status)
		}
	}
	if err != nil {
		l.fail(at, err)
	}
}

func (l *Load) fail(at time.Time, err error) {
	l.failed.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.errs) < maxErrors {
		l.errs = append(l.errs, ReqError{At: at, Err: err.Error()})
	}
}

// Stop ends the run and waits for requests in flight.
func (l *Load) Stop() {
	l.cancel()
	l.wg.Wait()
}

// Sent and Failed count requests so far.
func (l *Load) Sent() int64   { return l.sent.Load() }
func (l *Load) Failed() int64 { return l.failed.Load() }

// Errors are the failed requests kept so far (at most maxErrors).
func (l *Load) Errors() []ReqError {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]ReqError(nil), l.errs...)
}

// ErrorsBetween are the kept failed requests sent in [from, to].
func (l *Load) ErrorsBetween(from, to time.Time) []ReqError {
	var out []ReqError
	for _, e := range l.Errors() {
		if !e.At.Before(from) && !e.At.After(to) {
			out = append(out, e)
		}
	}
	return out
}
