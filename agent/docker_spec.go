package agent

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
)

// dockerSpec is everything ContainerCreate needs.
type dockerSpec struct {
	Config  *container.Config
	Host    *container.HostConfig
	Network *network.NetworkingConfig
	Name    string
}

// supportedParameters are the docker `parameters` keys the agent applies
// (the master passes them only when its policy allows parameters).
const supportedParameters = "add-host, cap-add, cap-drop, dns, env, hostname, label, user, workdir"

// buildDockerSpec turns a launch into a container definition. It is pure:
// no Docker calls, so the mapping is table-tested.
func buildDockerSpec(l Launch) (dockerSpec, error) {
	spec, c := l.Spec, l.Spec.Container
	if c == nil || c.Image == "" {
		return dockerSpec{}, fmt.Errorf("the task has no docker image")
	}
	cfg := &container.Config{
		Image:  c.Image,
		Env:    TaskEnv(spec, l.Host, nil),
		Labels: TaskLabels(spec, l.AgentID, l.ClusterID),
		User:   spec.User, // Marathon's `user` (a "user" parameter overrides it)
	}
	switch {
	case spec.Cmd != "":
		cfg.Entrypoint, cfg.Cmd = []string{"/bin/sh"}, []string{"-c", spec.Cmd}
	case len(spec.Args) > 0:
		cfg.Cmd = append([]string(nil), spec.Args...)
	}
	hc := &container.HostConfig{Privileged: c.Privileged}
	if spec.Resources.CPUs > 0 {
		hc.CPUShares = max(int64(spec.Resources.CPUs*1024), 2)
	}
	if spec.Resources.Mem > 0 {
		hc.Memory = int64(spec.Resources.Mem * (1 << 20))
	}
	for _, v := range c.Volumes {
		bind, err := volumeBind(v.HostPath, v.ContainerPath, v.Mode)
		if err != nil {
			return dockerSpec{}, err
		}
		hc.Binds = append(hc.Binds, bind)
	}
	netCfg, err := applyNetwork(spec.Container.Network, spec.Container.NetworkName, l, cfg, hc)
	if err != nil {
		return dockerSpec{}, err
	}
	for _, p := range c.Parameters {
		if err := applyParameter(p.Key, p.Value, cfg, hc); err != nil {
			return dockerSpec{}, err
		}
	}
	return dockerSpec{Config: cfg, Host: hc, Network: netCfg, Name: ContainerName(spec.TaskID)}, nil
}

func volumeBind(hostPath, containerPath, mode string) (string, error) {
	if !filepath.IsAbs(hostPath) || !filepath.IsAbs(containerPath) {
		return "", fmt.Errorf("volume %s:%s: hostPath and containerPath must be absolute", hostPath, containerPath)
	}
	switch strings.ToUpper(mode) {
	case "RO":
		return hostPath + ":" + containerPath + ":ro", nil
	case "RW", "":
		return hostPath + ":" + containerPath + ":rw", nil
	}
	return "", fmt.Errorf("volume %s:%s: mode %q (want RO or RW)", hostPath, containerPath, mode)
}

// applyNetwork sets the network mode and, for BRIDGE and USER, publishes
// each port that has a host port (container port 0 = the host port).
func applyNetwork(mode, name string, l Launch, cfg *container.Config, hc *container.HostConfig) (*network.NetworkingConfig, error) {
	mode = strings.ToUpper(mode)
	switch mode {
	case "", "HOST":
		hc.NetworkMode = "host"
		return nil, nil
	case "NONE":
		hc.NetworkMode = "none"
		return nil, nil
	case "BRIDGE":
		hc.NetworkMode = "bridge"
	case "USER":
		if name == "" {
			return nil, fmt.Errorf("network USER needs a network name")
		}
		hc.NetworkMode = container.NetworkMode(name)
	default:
		return nil, fmt.Errorf("network %q: want BRIDGE, HOST, USER or NONE", mode)
	}
	cfg.ExposedPorts, hc.PortBindings = nat.PortSet{}, nat.PortMap{}
	for _, p := range l.Spec.Ports {
		cp := p.ContainerPort
		if cp == 0 {
			cp = p.HostPort
		}
		if cp == 0 {
			continue
		}
		protos := strings.Split(strings.ToLower(p.Protocol), ",")
		for _, proto := range protos {
			proto = strings.TrimSpace(proto)
			if proto == "" {
				proto = "tcp"
			}
			if proto != "tcp" && proto != "udp" {
				return nil, fmt.Errorf("port %d: protocol %q (want tcp, udp or udp,tcp)", p.Index, p.Protocol)
			}
			port := nat.Port(strconv.Itoa(cp) + "/" + proto)
			cfg.ExposedPorts[port] = struct{}{}
			if p.HostPort != 0 {
				hc.PortBindings[port] = append(hc.PortBindings[port], nat.PortBinding{HostPort: strconv.Itoa(p.HostPort)})
			}
		}
	}
	if mode == "USER" {
		return &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{name: {}}}, nil
	}
	return nil, nil
}

func applyParameter(key, value string, cfg *container.Config, hc *container.HostConfig) error {
	switch key {
	case "label":
		k, v, _ := strings.Cut(value, "=")
		if strings.HasPrefix(k, "berth.") {
			return fmt.Errorf("docker parameter label %q: berth.* labels are the agent's", k)
		}
		cfg.Labels[k] = v
	case "env":
		cfg.Env = append(cfg.Env, value) // after the task's env: Docker keeps the last
	case "hostname":
		cfg.Hostname = value
	case "user":
		cfg.User = value
	case "workdir":
		cfg.WorkingDir = value
	case "add-host":
		hc.ExtraHosts = append(hc.ExtraHosts, value)
	case "dns":
		hc.DNS = append(hc.DNS, value)
	case "cap-add":
		hc.CapAdd = append(hc.CapAdd, value)
	case "cap-drop":
		hc.CapDrop = append(hc.CapDrop, value)
	default:
		return fmt.Errorf("docker parameter %q is not supported by this agent (supported: %s)", key, supportedParameters)
	}
	return nil
}
