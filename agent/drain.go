package agent

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/hashicorp/consul/api"
)

// Drainer takes a task out of the load balancers before it is stopped. It
// returns how many services it drained.
type Drainer interface {
	Drain(ctx context.Context, taskID string) (int, error)
}

// ConsulDrainer puts the Consul services of a task in maintenance mode
// through the Consul agent API. The registrator writes one service per
// published port with Meta berth_task=<task id>; lbsync routes only to
// passing instances, and maintenance makes an instance critical.
type ConsulDrainer struct {
	client   *api.Client
	timeout  time.Duration
	handover time.Duration
}

// ConsulDrainerConfig configures a ConsulDrainer.
type ConsulDrainerConfig struct {
	Client *api.Client
	// Timeout bounds each drain (default 3s), so an unreachable Consul
	// never holds a kill back for long.
	Timeout time.Duration
	// Handover bounds how long a drain waits for a replacement (default
	// 10s): an instance of an older app version is not drained while
	// newer-version instances of its service exist in Consul but none of
	// them passes yet. The master counts a new task ready once the agent's
	// health check passes, but lbsync routes it only once Consul's own
	// check passes (its first run comes up to one interval after the
	// registration); draining the old instances in between would leave the
	// servicePort without any backend during a rolling restart.
	Handover time.Duration
}

// NewConsulDrainer builds a drainer.
func NewConsulDrainer(cfg ConsulDrainerConfig) *ConsulDrainer {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 3 * time.Second
	}
	if cfg.Handover <= 0 {
		cfg.Handover = 10 * time.Second
	}
	return &ConsulDrainer{client: cfg.Client, timeout: cfg.Timeout, handover: cfg.Handover}
}

// Drain implements Drainer.
func (d *ConsulDrainer) Drain(ctx context.Context, taskID string) (int, error) {
	findCtx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	q := (&api.QueryOptions{}).WithContext(findCtx)
	filter := "Meta.berth_task == " + strconv.Quote(taskID)
	svcs, err := d.client.Agent().ServicesWithFilterOpts(filter, q)
	if err != nil {
		return 0, fmt.Errorf("consul: find services of task %s: %w", taskID, err)
	}
	for _, svc := range svcs {
		d.awaitHandover(ctx, svc)
	}
	// The wait may have used up the lookup's bound: the maintenance calls
	// get their own.
	setCtx, cancelSet := context.WithTimeout(ctx, d.timeout)
	defer cancelSet()
	q = (&api.QueryOptions{}).WithContext(setCtx)
	n := 0
	for id := range svcs {
		reason := "berth: draining task " + taskID + " before stopping it"
		if err := d.client.Agent().EnableServiceMaintenanceOpts(id, reason, q); err != nil {
			return n, fmt.Errorf("consul: maintenance on for service %s of task %s: %w", id, taskID, err)
		}
		n++
	}
	return n, nil
}

// awaitHandover waits (bounded by Handover, polling every 100 ms) while
// svc's service has instances of a newer berth_version than svc, none of
// them passing. Errors end the wait: a drain is never held back by Consul
// trouble.
func (d *ConsulDrainer) awaitHandover(ctx context.Context, svc *api.AgentService) {
	version := svc.Meta["berth_version"]
	if version == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, d.handover)
	defer cancel()
	q := (&api.QueryOptions{}).WithContext(ctx)
	for {
		entries, _, err := d.client.Health().Service(svc.Service, "", false, q)
		if err != nil || !newerPending(entries, svc.Meta["berth_app"], version) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// newerPending reports whether app has instances newer than version and
// none of them passes.
func newerPending(entries []*api.ServiceEntry, app, version string) bool {
	newer := false
	for _, e := range entries {
		if e.Service.Meta["berth_app"] != app || e.Service.Meta["berth_version"] <= version {
			continue
		}
		if e.Checks.AggregatedStatus() == api.HealthPassing {
			return false
		}
		newer = true
	}
	return newer
}
