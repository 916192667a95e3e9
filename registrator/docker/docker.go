package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/berth-platform/berth/registrator"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
)

// Source implements registrator.Docker with the Docker Engine API.
type Source struct {
	cli *client.Client
}

// Config builds a Source.
type Config struct {
	// Client is an API client, e.g. client.NewClientWithOpts(client.FromEnv,
	// client.WithAPIVersionNegotiation()). The caller closes it.
	Client *client.Client
}

// New returns a Source over cfg.Client.
func New(cfg Config) (*Source, error) {
	if cfg.Client == nil {
		return nil, errors.New("docker: a client is required")
	}
	return &Source{cli: cfg.Client}, nil
}

// Watch streams container events since `since` to handle until the stream
// breaks or ctx ends.
func (s *Source) Watch(ctx context.Context, since time.Time, handle func(registrator.Event)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	msgs, errs := s.cli.Events(ctx, types.EventsOptions{
		Since:   fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond()),
		Filters: filters.NewArgs(filters.Arg("type", "container")),
	})
	for {
		select {
		case m := <-msgs:
			id := m.Actor.ID
			if id == "" {
				id = m.ID //nolint:staticcheck // engines before API 1.22 fill only the legacy field
			}
			handle(registrator.Event{ContainerID: id, Action: string(m.Action), Time: time.Unix(0, m.TimeNano)})
		case err := <-errs:
			if err == nil {
				err = io.EOF
			}
			return fmt.Errorf("docker: events: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// List returns the IDs of running (and paused) containers; with all, of
// every container.
func (s *Source) List(ctx context.Context, all bool) ([]string, error) {
	list, err := s.cli.ContainerList(ctx, container.ListOptions{All: all})
	if err != nil {
		return nil, fmt.Errorf("docker: list containers: %w", err)
	}
	ids := make([]string, len(list))
	for i, c := range list {
		ids[i] = c.ID
	}
	return ids, nil
}

// Inspect returns one container; registrator.ErrNotFound when it is gone.
// For NetworkMode container:<id> it also looks up that container's IP.
func (s *Source) Inspect(ctx context.Context, id string) (registrator.Container, error) {
	raw, err := s.cli.ContainerInspect(ctx, id)
	if err != nil {
		if client.IsErrNotFound(err) {
			return registrator.Container{}, fmt.Errorf("docker: inspect %s: %w", id, registrator.ErrNotFound)
		}
		return registrator.Container{}, fmt.Errorf("docker: inspect %s: %w", id, err)
	}
	c := Convert(raw)
	if other, ok := strings.CutPrefix(c.NetworkMode, "container:"); ok {
		if net, err := s.cli.ContainerInspect(ctx, other); err == nil {
			c.NetworkContainerIP = Convert(net).IP
		}
	}
	return c, nil
}

// Convert flattens `docker inspect` output into a registrator.Container.
func Convert(raw types.ContainerJSON) registrator.Container {
	c := registrator.Container{Inspect: raw}
	if raw.ContainerJSONBase != nil {
		c.ID = raw.ID
		c.Name = strings.TrimPrefix(raw.Name, "/")
		if st := raw.State; st != nil {
			c.Running, c.Paused, c.Restarting, c.ExitCode = st.Running, st.Paused, st.Restarting, st.ExitCode
			if st.Health != nil {
				c.Health = st.Health.Status
			}
		}
		if raw.HostConfig != nil {
			c.NetworkMode = string(raw.HostConfig.NetworkMode)
		}
	}
	if cfg := raw.Config; cfg != nil {
		c.Image = cfg.Image
		c.Env = append([]string(nil), cfg.Env...)
		c.Labels = make(map[string]string, len(cfg.Labels))
		for k, v := range cfg.Labels {
			c.Labels[k] = v
		}
		for p := range cfg.ExposedPorts {
			c.ExposedPorts = append(c.ExposedPorts, string(p))
		}
		sort.Strings(c.ExposedPorts)
	}
	if ns := raw.NetworkSettings; ns != nil {
		c.IP = ns.IPAddress
		c.NetworkIPs = map[string]string{}
		names := make([]string, 0, len(ns.Networks))
		for name, ep := range ns.Networks {
			if ep != nil {
				c.NetworkIPs[name] = ep.IPAddress
				names = append(names, name)
			}
		}
		sort.Strings(names)
		if c.IP == "" && len(names) > 0 {
			c.IP = c.NetworkIPs[names[0]]
		}
		c.Ports = make(map[string][]registrator.Binding, len(ns.Ports))
		for p, bindings := range ns.Ports {
			var bs []registrator.Binding
			for _, b := range bindings {
				bs = append(bs, registrator.Binding{HostIP: b.HostIP, HostPort: b.HostPort})
			}
			c.Ports[string(p)] = bs
		}
	}
	return c
}
