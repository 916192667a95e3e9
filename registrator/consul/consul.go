package consul

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/berth-platform/berth/registrator"
	"github.com/hashicorp/consul/api"
)

// Config builds a Registry.
type Config struct {
	// Address is the agent: "host:port", "http(s)://host:port", or a
	// registrator registry URI (consul://host:port, consul-tls://host:port,
	// consul-unix:///path/to/socket). Empty: CONSUL_HTTP_ADDR, else
	// 127.0.0.1:8500.
	Address string
	// Token is the ACL token; empty: CONSUL_HTTP_TOKEN.
	Token string
	// Timeout bounds each call (default 5s).
	Timeout time.Duration
}

// Registry is a registrator.Registry over one Consul agent.
type Registry struct {
	client  *api.Client
	timeout time.Duration
}

// New returns a Registry; it does not contact Consul.
func New(cfg Config) (*Registry, error) {
	ac := api.DefaultConfig() // reads CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN, CONSUL_CACERT, …
	if cfg.Address != "" {
		if err := applyAddress(ac, cfg.Address); err != nil {
			return nil, err
		}
	}
	if cfg.Token != "" {
		ac.Token = cfg.Token
	}
	c, err := api.NewClient(ac)
	if err != nil {
		return nil, fmt.Errorf("consul: client for %s: %w", ac.Address, err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	return &Registry{client: c, timeout: cfg.Timeout}, nil
}

// applyAddress understands host:port, http(s):// and registrator's
// consul://, consul-tls:// and consul-unix:// URIs.
func applyAddress(ac *api.Config, addr string) error {
	if !strings.Contains(addr, "://") {
		ac.Address = addr
		return nil
	}
	u, err := url.Parse(addr)
	if err != nil {
		return fmt.Errorf("consul: address %q: %w", addr, err)
	}
	switch u.Scheme {
	case "http", "consul":
		ac.Scheme, ac.Address = "http", u.Host
	case "https", "consul-tls":
		ac.Scheme, ac.Address = "https", u.Host
	case "consul-unix", "unix":
		ac.Address = "unix://" + u.Host + u.Path
	default:
		return fmt.Errorf("consul: address %q: only consul://, consul-tls://, consul-unix:// and http(s):// registries are supported", addr)
	}
	if ac.Address == "" || ac.Address == "unix://" {
		return fmt.Errorf("consul: address %q has no host", addr)
	}
	return nil
}

// Client exposes the underlying API client (for tests and diagnostics).
func (r *Registry) Client() *api.Client { return r.client }

func (r *Registry) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.timeout)
}

// Ping asks the agent for the cluster leader, as registrator does.
func (r *Registry) Ping(ctx context.Context) error {
	ctx, cancel := r.ctx(ctx)
	defer cancel()
	leader, err := r.client.Status().LeaderWithQueryOptions((&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return fmt.Errorf("consul: ping: %w", err)
	}
	if leader == "" {
		return errors.New("consul: ping: no cluster leader yet")
	}
	return nil
}

// Register creates or replaces s on the local agent, replacing its checks.
func (r *Registry) Register(ctx context.Context, s registrator.Service) error {
	ctx, cancel := r.ctx(ctx)
	defer cancel()
	reg := &api.AgentServiceRegistration{
		ID:      s.ID,
		Name:    s.Name,
		Address: s.Address,
		Port:    s.Port,
		Tags:    s.Tags,
		Meta:    s.Meta,
		Check:   toConsulCheck(s.Check),
	}
	if s.Check != nil && s.Check.ForceStatus && s.Check.Status != "" {
		// Consul would keep the old check's status: drop the check so the
		// registration's initial status applies (the service has no
		// check for that moment, i.e. it passes, as it is about to).
		err := r.client.Agent().CheckDeregisterOpts("service:"+s.ID, (&api.QueryOptions{}).WithContext(ctx))
		var se api.StatusError
		if err != nil && !(errors.As(err, &se) && se.Code == 404) {
			return fmt.Errorf("consul: register %s: reset its check: %w", s.ID, err)
		}
	}
	opts := api.ServiceRegisterOpts{ReplaceExistingChecks: true}.WithContext(ctx)
	if err := r.client.Agent().ServiceRegisterOpts(reg, opts); err != nil {
		return fmt.Errorf("consul: register %s: %w", s.ID, err)
	}
	return nil
}

func toConsulCheck(c *registrator.Check) *api.AgentServiceCheck {
	if c == nil {
		return nil
	}
	return &api.AgentServiceCheck{
		HTTP:                           c.HTTP,
		Method:                         c.Method,
		TCP:                            c.TCP,
		GRPC:                           c.GRPC,
		GRPCUseTLS:                     c.GRPCUseTLS,
		TLSSkipVerify:                  c.TLSSkipVerify,
		Args:                           c.Args,
		TTL:                            c.TTL,
		Interval:                       c.Interval,
		Timeout:                        c.Timeout,
		Status:                         c.Status,
		DeregisterCriticalServiceAfter: c.DeregisterCriticalServiceAfter,
	}
}

// Deregister removes a service from the local agent; an unknown ID is fine.
func (r *Registry) Deregister(ctx context.Context, id string) error {
	ctx, cancel := r.ctx(ctx)
	defer cancel()
	err := r.client.Agent().ServiceDeregisterOpts(id, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		var se api.StatusError
		if errors.As(err, &se) && se.Code == 404 {
			return nil
		}
		return fmt.Errorf("consul: deregister %s: %w", id, err)
	}
	return nil
}

// Owned lists the local agent's services marked with owner, in one
// /v1/agent/services call.
func (r *Registry) Owned(ctx context.Context, owner string) ([]registrator.Service, error) {
	ctx, cancel := r.ctx(ctx)
	defer cancel()
	all, err := r.client.Agent().ServicesWithFilterOpts("", (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("consul: list agent services: %w", err)
	}
	var out []registrator.Service
	for _, s := range all {
		if s.Meta[registrator.MetaOwner] != owner {
			continue
		}
		out = append(out, registrator.Service{
			ID: s.ID, Name: s.Service, Address: s.Address, Port: s.Port, Tags: s.Tags, Meta: s.Meta,
		})
	}
	return out, nil
}
