package lbsync

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"
)

// MetaDeploymentGroup is marathon-lb's blue/green pairing label.
const MetaDeploymentGroup = "HAPROXY_DEPLOYMENT_GROUP"

// FrontendPort is the port the service's frontend binds: HAPROXY_{n}_PORT
// if set, else its servicePort.
func (s Service) FrontendPort() int {
	if s.BindPort != 0 {
		return s.BindPort
	}
	return s.ServicePort
}

// mergeFrontends resolves services that would bind one port. Two apps
// sharing HAPROXY_DEPLOYMENT_GROUP (marathon-lb's zdd.py blue/green: the
// new colour runs on HAPROXY_DEPLOYMENT_ALT_PORT with HAPROXY_0_PORT set
// to the group's port) become one frontend with both colours' backends;
// any other collision keeps the service whose own servicePort it is (else
// the lowest servicePort) and warns about the rest. svcs is sorted by
// servicePort; so is the result. It is pure.
func mergeFrontends(svcs []Service, httpPort int, reserved []int, warn func(string, string, ...any)) []Service {
	if !anyBindPort(svcs) {
		return svcs // servicePorts are unique: nothing can collide
	}
	byPort := map[int][]int{}
	for i := range svcs {
		s := &svcs[i]
		if s.BindPort != 0 && (s.BindPort == httpPort || slices.Contains(reserved, s.BindPort)) {
			warn("servicePort "+strconv.Itoa(s.ServicePort), "%s %d rejected: the port is lbsync's own", labelKey(s.PortIndex, "PORT"), s.BindPort)
			s.BindPort = 0
		}
		byPort[s.FrontendPort()] = append(byPort[s.FrontendPort()], i)
	}
	drop := map[int]bool{}
	for port, idx := range byPort {
		if len(idx) < 2 {
			continue
		}
		base := idx[0]
		for _, i := range idx {
			if svcs[i].ServicePort == port {
				base = i
			}
		}
		group := svcs[base].DeploymentGroup
		shared := group != ""
		for _, i := range idx {
			shared = shared && svcs[i].DeploymentGroup == group
		}
		for _, i := range idx {
			if i == base {
				continue
			}
			drop[i] = true
			if shared {
				mergeInto(&svcs[base], svcs[i])
				continue
			}
			warn("servicePort "+strconv.Itoa(svcs[i].ServicePort), "not exposed: port %d is the frontend of servicePort %d (%s)",
				port, svcs[base].ServicePort, svcs[base].App)
		}
		if shared {
			b := &svcs[base]
			b.Name = sanitizeName(group) + "_" + strconv.Itoa(port)
			b.ServicePort, b.BindPort = port, 0
		}
	}
	out := svcs[:0:0]
	for i, s := range svcs {
		if !drop[i] {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b Service) int { return cmp.Compare(a.ServicePort, b.ServicePort) })
	return out
}

// mergeInto adds other's backends and exclusions to s (one blue/green
// frontend).
func mergeInto(s *Service, other Service) {
	if len(s.Apps) == 0 {
		s.Apps = []string{s.App}
	}
	s.Apps = append(s.Apps, other.App)
	slices.Sort(s.Apps)
	s.Apps = slices.Compact(s.Apps)
	s.Backends = append(s.Backends, other.Backends...)
	slices.SortStableFunc(s.Backends, func(a, b Backend) int {
		pa, _ := netip.ParseAddrPort(a.HostPort())
		pb, _ := netip.ParseAddrPort(b.HostPort())
		return pa.Compare(pb)
	})
	s.Backends = slices.CompactFunc(s.Backends, func(a, b Backend) bool { return a.HostPort() == b.HostPort() })
	s.Excluded = append(s.Excluded, other.Excluded...)
}

func anyBindPort(svcs []Service) bool {
	for i := range svcs {
		if svcs[i].BindPort != 0 {
			return true
		}
	}
	return false
}
