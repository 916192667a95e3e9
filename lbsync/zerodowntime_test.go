package lbsync

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

// loadResult is what the load generator saw.
type loadResult struct {
	total, failed int
	firstErrors   []string
	latencies     []time.Duration
	elapsed       time.Duration
}

func (r loadResult) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	s := slices.Clone(r.latencies)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// generateLoad sends rate requests/s for d, alternating between the
// servicePort and the HTTP port with the Host header; every request opens
// a new connection, the hard case for a reload.
func generateLoad(ctx context.Context, rate int, d time.Duration, sp, httpPort int, host string) loadResult {
	tokens := make(chan struct{}, rate)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var res loadResult
	var n atomic.Int64
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			var failed int
			var errs []string
			for range tokens {
				port, hh := sp, ""
				if n.Add(1)%2 == 0 {
					port, hh = httpPort, host
				}
				start := time.Now()
				code, body, err := get(client, port, hh)
				lat = append(lat, time.Since(start))
				if err != nil || code != 200 {
					failed++
					if len(errs) < 5 {
						errs = append(errs, fmt.Sprintf("port %d: %d %q %v", port, code, body, err))
					}
				}
			}
			mu.Lock()
			res.total += len(lat)
			res.failed += failed
			res.latencies = append(res.latencies, lat...)
			res.firstErrors = append(res.firstErrors, errs...)
			mu.Unlock()
		}()
	}
	start := time.Now()
	tick := time.NewTicker(5 * time.Millisecond)
	deadline := time.NewTimer(d)
	emitted := 0
loop:
	for {
		select {
		case <-tick.C:
			// Emit what the elapsed time calls for, so a late tick on a
			// busy machine does not lower the rate.
			for want := int(time.Since(start).Seconds() * float64(rate)); emitted < want; emitted++ {
				select {
				case tokens <- struct{}{}:
				case <-deadline.C:
					break loop
				}
			}
		case <-deadline.C:
			break loop
		case <-ctx.Done():
			break loop
		}
	}
	tick.Stop()
	close(tokens)
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

// TestZeroDowntime: ≥ 500 requests/s through HAProxy for 30 s while
// backends are added and removed 50 times and 10 new servicePorts force
// reloads: not one request may fail.
func TestZeroDowntime(t *testing.T) {
	if testing.Short() {
		t.Skip("30 s load test; run without -short")
	}
	zeroDowntime(t, harnessOpts{})
}

func zeroDowntime(t *testing.T, opts harnessOpts) {
	const (
		rate     = 600
		duration = 30 * time.Second
		churnOps = 50
		reloads  = 10
	)
	h := startHarness(t, opts)
	sp, host := testenv.FreePort(t), "load.example.test"
	for _, name := range []string{"stable-1", "stable-2"} {
		h.register("/load", sp, newBackend(t, name), "HAPROXY_0_VHOST", host)
	}
	h.expectSet(sp, "", "stable-1", "stable-2")
	h.expectSet(h.httpPort, host, "stable-1", "stable-2")
	h.waitBackends(sp, 2)
	reloadsBefore := h.reloads()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var res loadResult
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		res = generateLoad(ctx, rate, duration, sp, h.httpPort, host)
	}()

	// Churn: 50 operations, alternately adding a backend and removing
	// the oldest added one. A removed backend is stopped only after
	// lbsync applied its removal (drain before stop, as the agent does).
	var churned []*backend
	ids := map[*backend]string{}
	ops, added := 0, 0
	interval := (duration - 4*time.Second) / churnOps
	nextReload := 0
	reloadEvery := churnOps / reloads
	for ops < churnOps {
		time.Sleep(interval)
		if ops%2 == 0 || len(churned) == 0 {
			b := newBackend(t, fmt.Sprintf("churn-%d", added))
			added++
			ids[b] = h.register("/load", sp, b, "HAPROXY_0_VHOST", host)
			churned = append(churned, b)
		} else {
			b := churned[0]
			churned = churned[1:]
			h.deregister(ids[b])
			h.waitGone(sp, b.port())
			b.Close()
		}
		ops++
		if ops%reloadEvery == 0 && nextReload < reloads {
			port := testenv.FreePort(t)
			h.register(fmt.Sprintf("/extra%d", nextReload), port, newBackend(t, fmt.Sprintf("extra-%d", nextReload)),
				"HAPROXY_0_VHOST", fmt.Sprintf("extra%d.example.test", nextReload))
			nextReload++
		}
	}
	<-loadDone
	testenv.WaitFor(t, 10*time.Second, "10 reloads counted", func() error {
		if got := h.reloads() - reloadsBefore; got < reloads {
			return fmt.Errorf("%v reloads", got)
		}
		return nil
	})

	rps := float64(res.total) / res.elapsed.Seconds()
	t.Logf("zero-downtime: %d requests in %s (%.0f req/s), %d failed, p50 %s, p99 %s, max %s; %d backend adds/removes, %v reloads",
		res.total, res.elapsed.Round(time.Millisecond), rps, res.failed, res.percentile(0.5), res.percentile(0.99),
		res.percentile(1), ops, h.reloads()-reloadsBefore)
	if res.failed > 0 {
		t.Errorf("%d of %d requests failed; first: %v", res.failed, res.total, res.firstErrors)
	}
	if rps < 500 || res.elapsed < duration {
		t.Errorf("load was %.0f req/s for %s; want >= 500 req/s for >= %s", rps, res.elapsed, duration)
	}
}
