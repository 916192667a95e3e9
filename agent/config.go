package agent

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/berth-platform/berth/internal/wire"
)

// Config configures an Agent. Zero durations take the defaults noted.
type Config struct {
	Master      Master
	MasterURL   string // for /v1/state only
	Hostname    string
	AdvertiseIP string
	// Listener serves the agent's HTTP API (logs, state); its address is
	// what the agent registers as its URL. Nil: no API (tests).
	Listener net.Listener
	// URL is the agent API's address as the master should use it; empty:
	// derived from Listener (an unspecified host becomes AdvertiseIP).
	URL        string
	Attributes map[string]string
	Resources  wire.Resources
	// Roles are the resource roles offered (--roles); empty: "*".
	Roles   []string
	WorkDir string
	// Runtimes by name (RuntimeDocker, RuntimeProcess): the enabled
	// containerizers.
	Runtimes map[string]Runtime
	// Drainer takes a task out of the load balancer before it is stopped;
	// nil skips draining.
	Drainer Drainer
	Logger  *slog.Logger
	Now     func() time.Time
	Version string
	// Secret is --agent-secret: when set, every request to the agent's API
	// must carry "Authorization: Bearer <Secret>" (the master and the
	// registrator send it); others get 401. Empty: the API is open.
	Secret string

	// ResyncInterval is the ticker of the reconcile loop (default 5s).
	ResyncInterval time.Duration
	// OrphanGrace: running tasks the master never asked for are killed
	// this long after the first desired set arrived (default 60s).
	OrphanGrace time.Duration
	// RetainExited keeps exited tasks that are no longer desired, with
	// their logs, this long (default 10m).
	RetainExited time.Duration
	// PollWait is the long-poll wait of GET desired (default: half the
	// master's heartbeat interval, at most 30s).
	PollWait time.Duration
}

// Validate checks the configuration and fills defaults.
func (c *Config) Validate() error {
	var errs []error
	if c.Master == nil {
		errs = append(errs, errors.New("no master"))
	}
	if c.Hostname == "" {
		errs = append(errs, errors.New("no hostname"))
	}
	if c.WorkDir == "" {
		errs = append(errs, errors.New("no work dir"))
	}
	if len(c.Runtimes) == 0 {
		errs = append(errs, errors.New("no containerizer enabled"))
	}
	for name := range c.Runtimes {
		if name != RuntimeDocker && name != RuntimeProcess {
			errs = append(errs, fmt.Errorf("unknown containerizer %q (want docker, process)", name))
		}
	}
	if c.AdvertiseIP != "" && net.ParseIP(c.AdvertiseIP) == nil {
		errs = append(errs, fmt.Errorf("advertise ip %q is not an IP address", c.AdvertiseIP))
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.ResyncInterval <= 0 {
		c.ResyncInterval = 5 * time.Second
	}
	if c.OrphanGrace <= 0 {
		c.OrphanGrace = 60 * time.Second
	}
	if c.RetainExited <= 0 {
		c.RetainExited = 10 * time.Minute
	}
	if len(errs) > 0 {
		return fmt.Errorf("agent config: %w", errors.Join(errs...))
	}
	return nil
}
