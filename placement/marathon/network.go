package marathon

import "strings"

// convertNetworking turns either networking form (container.docker.network
// + docker.portMappings, or networks + container.portMappings, plus ports /
// portDefinitions) into the canonical one.
func convertNetworking(in *appIn, a *App, v *Violations) {
	mode, name := networkMode(in, v)
	if in.Networks != nil && len(*in.Networks) > 0 {
		a.Networks = *in.Networks
	} else {
		a.Networks = []Network{{Mode: mode, Name: name}}
	}
	mappings := convertContainer(in.Container, a, v)
	if mode == NetworkHost {
		if mappings != nil && len(*mappings) > 0 {
			v.Add("/container/portMappings", "portMappings are not allowed with host-networking")
		}
		a.PortDefinitions = hostPortDefinitions(in, v)
		return
	}
	if in.PortDefinitions != nil && len(*in.PortDefinitions) > 0 {
		v.Add("/portDefinitions", "portDefinitions are only allowed with host-networking")
	}
	if in.RequirePorts != nil && *in.RequirePorts {
		v.Add("/requirePorts", "requirePorts is only allowed with host-networking")
	}
	a.PortDefinitions = []PortDefinition{}
	if a.Container == nil {
		a.Container = &Container{Type: "DOCKER", Volumes: []Volume{}}
	}
	if mappings == nil {
		pm := PortMapping{Protocol: "tcp", Name: "default", Labels: map[string]string{}}
		if mode == NetworkBridge {
			pm.HostPort = intp(0)
		}
		a.Container.PortMappings = []PortMapping{pm}
		return
	}
	a.Container.PortMappings = make([]PortMapping, 0, len(*mappings))
	for _, m := range *mappings {
		pm := PortMapping{Protocol: "tcp", Labels: map[string]string{}, HostPort: m.HostPort,
			NetworkNames: m.NetworkNames}
		setInt(&pm.ContainerPort, m.ContainerPort)
		setInt(&pm.ServicePort, m.ServicePort)
		setStr(&pm.Protocol, m.Protocol)
		setStr(&pm.Name, m.Name)
		if m.Labels != nil {
			pm.Labels = m.Labels
		}
		if mode == NetworkBridge && pm.HostPort == nil {
			pm.HostPort = intp(0)
		}
		a.Container.PortMappings = append(a.Container.PortMappings, pm)
	}
}

// networkMode picks the networking mode and network name from whichever
// form the request used, recording conflicts.
func networkMode(in *appIn, v *Violations) (mode, name string) {
	var dockerNet *string
	if in.Container != nil && in.Container.Docker != nil {
		dockerNet = in.Container.Docker.Network
	}
	hasNetworks := in.Networks != nil && len(*in.Networks) > 0
	if hasNetworks && dockerNet != nil {
		v.Add("/networks", "must not specify both container.docker.network and networks")
	}
	if hasNetworks && in.IPAddress != nil {
		v.Add("/networks", "must not specify both ipAddress and networks")
	}
	switch {
	case hasNetworks:
		nets := *in.Networks
		for i, n := range nets {
			switch n.Mode {
			case NetworkHost, NetworkBridge:
			case NetworkContainer:
				if n.Name == "" {
					v.Addf(pathIdx("/networks", i)+"/name", "network name is required for container networking (no default network is configured)")
				}
			default:
				v.Addf(pathIdx("/networks", i)+"/mode", "must be one of host, container, container/bridge; got %q", n.Mode)
			}
			if i > 0 && n.Mode != nets[0].Mode {
				v.Add("/networks", "must not mix networking modes")
			}
		}
		return nets[0].Mode, nets[0].Name
	case dockerNet != nil:
		switch strings.ToUpper(*dockerNet) {
		case "HOST":
			return NetworkHost, ""
		case "BRIDGE":
			return NetworkBridge, ""
		case "USER":
			if in.IPAddress != nil && in.IPAddress.NetworkName != nil && *in.IPAddress.NetworkName != "" {
				return NetworkContainer, *in.IPAddress.NetworkName
			}
			v.Add("/ipAddress/networkName", "network name is required for USER networking (no default network is configured)")
			return NetworkContainer, ""
		default:
			v.Addf("/container/docker/network", "must be one of HOST, BRIDGE, USER; got %q", *dockerNet)
			return NetworkHost, ""
		}
	case in.IPAddress != nil:
		if in.IPAddress.NetworkName == nil || *in.IPAddress.NetworkName == "" {
			v.Add("/ipAddress/networkName", "network name is required (no default network is configured)")
			return NetworkContainer, ""
		}
		return NetworkContainer, *in.IPAddress.NetworkName
	}
	return NetworkHost, ""
}

// convertContainer fills a.Container and returns the port mappings of
// whichever form was given (nil when none).
func convertContainer(c *containerIn, a *App, v *Violations) *[]portMapIn {
	if c == nil {
		return nil
	}
	out := &Container{Type: "DOCKER", Volumes: []Volume{}}
	if c.Type != nil {
		out.Type = strings.ToUpper(*c.Type)
	}
	if c.Volumes != nil {
		out.Volumes = c.Volumes
	}
	mappings := c.PortMappings
	if d := c.Docker; d != nil {
		out.Docker = &Docker{Parameters: []Parameter{}}
		setStr(&out.Docker.Image, d.Image)
		setBool(&out.Docker.Privileged, d.Privileged)
		setBool(&out.Docker.ForcePullImage, d.ForcePullImage)
		if d.Parameters != nil {
			out.Docker.Parameters = d.Parameters
		}
		if d.PortMappings != nil {
			if mappings != nil {
				v.Add("/container/portMappings", "must not specify both container.docker.portMappings and container.portMappings")
			}
			mappings = d.PortMappings
		}
	}
	a.Container = out
	return mappings
}

// hostPortDefinitions merges `ports` and `portDefinitions` for host
// networking; absent both, one dynamic port named "default".
func hostPortDefinitions(in *appIn, v *Violations) []PortDefinition {
	var defs []PortDefinition
	if in.PortDefinitions != nil {
		defs = make([]PortDefinition, 0, len(*in.PortDefinitions))
		for _, p := range *in.PortDefinitions {
			pd := PortDefinition{Protocol: "tcp", Labels: map[string]string{}}
			setInt(&pd.Port, p.Port)
			setStr(&pd.Protocol, p.Protocol)
			setStr(&pd.Name, p.Name)
			if p.Labels != nil {
				pd.Labels = p.Labels
			}
			defs = append(defs, pd)
		}
	}
	if in.Ports != nil {
		ports := *in.Ports
		if defs != nil {
			if !samePorts(ports, defs) {
				v.Add("/", "cannot specify both ports and port definitions")
			}
			return defs
		}
		defs = make([]PortDefinition, 0, len(ports))
		for _, p := range ports {
			defs = append(defs, PortDefinition{Port: p, Protocol: "tcp", Labels: map[string]string{}})
		}
		return defs
	}
	if defs == nil {
		defs = []PortDefinition{{Port: 0, Protocol: "tcp", Name: "default", Labels: map[string]string{}}}
	}
	return defs
}

func samePorts(ports []int, defs []PortDefinition) bool {
	if len(ports) != len(defs) {
		return false
	}
	for i := range ports {
		if ports[i] != defs[i].Port {
			return false
		}
	}
	return true
}
