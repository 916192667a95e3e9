package simagent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/berth-platform/berth/agent"
	"github.com/berth-platform/berth/internal/wire"
)

// Config describes a fleet of simulated agents.
type Config struct {
	// Master is the master's agent API; NewHTTPMaster(URL, secret, count)
	// builds one whose connection pool fits the fleet.
	Master agent.Master
	// Count is how many agents the fleet runs.
	Count int
	// Prefix names the agents: Prefix + a five-digit number (sim-00001).
	Prefix string
	// Resources are each agent's total resources.
	Resources wire.Resources
	// Attributes gives agent i (0-based) its attributes; nil gives none.
	Attributes func(i int) map[string]string
	// PollWait is the long poll's wait; 0 takes half the master's
	// heartbeat, as real agents do.
	PollWait time.Duration
	// Now is the clock for status timestamps; nil is time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// Stats are the fleet's counters since Run started.
type Stats struct {
	Registered  int64 // agents registered now
	Running     int64 // tasks running on all agents now
	Polls       int64 // desired-set answers received
	StatusPosts int64 // status batches acknowledged
	Updates     int64 // status updates acknowledged
	Errors      int64 // failed calls (retried)
}

// Fleet runs Config.Count simulated agents until its context ends.
type Fleet struct {
	cfg                                                    Config
	registered, running, polls, posts, updates, errorCount atomic.Int64
}

// New checks the configuration.
func New(cfg Config) (*Fleet, error) {
	if cfg.Master == nil {
		return nil, errors.New("simagent: no master")
	}
	if cfg.Count <= 0 {
		return nil, fmt.Errorf("simagent: count %d: need at least one agent", cfg.Count)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "sim-"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Fleet{cfg: cfg}, nil
}

// NewHTTPMaster is an agent.Master over HTTP whose connection pool holds
// one long poll and one status post per simulated agent.
func NewHTTPMaster(url, secret string, count int) (*agent.HTTPMaster, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 2*count + 16
	tr.MaxIdleConnsPerHost = 2*count + 16
	return agent.NewHTTPMaster(agent.HTTPMasterConfig{URL: url, Secret: secret, Client: &http.Client{Transport: tr}})
}

// Stats reads the counters.
func (f *Fleet) Stats() Stats {
	return Stats{Registered: f.registered.Load(), Running: f.running.Load(), Polls: f.polls.Load(),
		StatusPosts: f.posts.Load(), Updates: f.updates.Load(), Errors: f.errorCount.Load()}
}

// Run starts every agent and returns when ctx ends and all have stopped.
func (f *Fleet) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for i := 0; i < f.cfg.Count; i++ {
		s := &sim{f: f, i: i, host: fmt.Sprintf("%s%05d", f.cfg.Prefix, i+1), running: map[string]wire.TaskStatus{}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.run(ctx)
		}()
	}
	wg.Wait()
	return nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
