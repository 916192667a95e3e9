package failover

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Probe performs one write through the master at baseURL (e.g. POST
// /v2/apps) and returns nil once it succeeded.
type Probe func(ctx context.Context, baseURL string) error

// Config describes one failover.
type Config struct {
	// Survivors are the base URLs of the masters that stay up.
	Survivors []string
	// Kill kills the leader (e.g. SIGKILL of its process). The clock
	// starts when Kill returns.
	Kill func() error
	// Probe is the write that must succeed again.
	Probe Probe
	// Interval between probe rounds (default 20 ms).
	Interval time.Duration
	// ProbeTimeout bounds one probe (default 10 s). Keep it above the
	// masters' forwarding wait: a probe cancelled in flight may have been
	// applied without the prober knowing.
	ProbeTimeout time.Duration
	// Timeout gives up (default 60 s).
	Timeout time.Duration
}

// Measure kills the leader and returns the time until the first probe
// through any survivor succeeded, with the survivor that answered.
func Measure(ctx context.Context, cfg Config) (time.Duration, string, error) {
	if len(cfg.Survivors) == 0 || cfg.Kill == nil || cfg.Probe == nil {
		return 0, "", errors.New("failover: Survivors, Kill and Probe are required")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 20 * time.Millisecond
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.ProbeTimeout <= 0 {
		cfg.ProbeTimeout = 10 * time.Second
	}
	if err := cfg.Kill(); err != nil {
		return 0, "", fmt.Errorf("failover: kill the leader: %w", err)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	var last error
	for {
		for _, u := range cfg.Survivors {
			pctx, pcancel := context.WithTimeout(ctx, cfg.ProbeTimeout)
			err := cfg.Probe(pctx, u)
			pcancel()
			if err == nil {
				return time.Since(start), u, nil
			}
			last = err
		}
		select {
		case <-ctx.Done():
			return 0, "", fmt.Errorf("failover: no write succeeded within %s: %w", cfg.Timeout, last)
		case <-time.After(cfg.Interval):
		}
	}
}

// Stats summarises repeated failovers.
type Stats struct {
	N             int
	Min, P50, P99 time.Duration
	Max           time.Duration
}

// Summarize computes nearest-rank percentiles.
func Summarize(ds []time.Duration) Stats {
	if len(ds) == 0 {
		return Stats{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(s))+0.999999) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	return Stats{N: len(s), Min: s[0], P50: rank(0.50), P99: rank(0.99), Max: s[len(s)-1]}
}

func (s Stats) String() string {
	return fmt.Sprintf("n=%d min=%s p50=%s p99=%s max=%s", s.N, s.Min.Round(time.Millisecond),
		s.P50.Round(time.Millisecond), s.P99.Round(time.Millisecond), s.Max.Round(time.Millisecond))
}

// Leader asks each master's GET /v2/leader and returns the leader's URL
// once every reachable master names the same one ({"leader":"host:port"};
// an http:// prefix is added when missing).
func Leader(ctx context.Context, client *http.Client, masters []string) (string, error) {
	var leader string
	for _, m := range masters {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(m, "/")+"/v2/leader", nil)
		if err != nil {
			return "", err
		}
		res, err := client.Do(req)
		if err != nil {
			continue
		}
		var body struct{ Leader string }
		err = json.NewDecoder(io.LimitReader(res.Body, 1<<16)).Decode(&body)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK || body.Leader == "" {
			return "", fmt.Errorf("failover: %s/v2/leader: status %d, %v", m, res.StatusCode, err)
		}
		l := body.Leader
		if !strings.Contains(l, "://") {
			l = "http://" + l
		}
		if leader != "" && l != leader {
			return "", fmt.Errorf("failover: masters disagree: %s and %s", leader, l)
		}
		leader = l
	}
	if leader == "" {
		return "", errors.New("failover: no master answered /v2/leader")
	}
	return leader, nil
}
