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
	client  *api.Client
	timeout time.Duration
}

// ConsulDrainerConfig configures a ConsulDrainer.
type ConsulDrainerConfig struct {
	Client *api.Client
	// Timeout bounds each drain (default 3s), so an unreachable Consul
	// never holds a kill back for long.
	Timeout time.Duration
}

// NewConsulDrainer builds a drainer.
func NewConsulDrainer(cfg ConsulDrainerConfig) *ConsulDrainer {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 3 * time.Second
	}
	return &ConsulDrainer{client: cfg.Client, timeout: cfg.Timeout}
}

// Drain implements Drainer.
func (d *ConsulDrainer) Drain(ctx context.Context, taskID string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	q := (&api.QueryOptions{}).WithContext(ctx)
	filter := "Meta.berth_task == " + strconv.Quote(taskID)
	svcs, err := d.client.Agent().ServicesWithFilterOpts(filter, q)
	if err != nil {
		return 0, fmt.Errorf("consul: find services of task %s: %w", taskID, err)
	}
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
