package lbsync

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// shape is where a servicePort's configuration comes from when none of
// its instances can say it: the master's app (Snapshot.Master) or a
// retained instance (Snapshot.Retained).
type shape struct {
	owners    []string // apps that own the port (two during a blue/green switch)
	meta      map[string]string
	portIndex int
}

// shapes returns, by servicePort, the owners and labels the master's
// record (or, without one, the retained instances) gives.
func (b *modelBuilder) shapes(byPort map[int][]candidate) map[int]shape {
	out := map[int]shape{}
	if b.s.Master == nil {
		for _, c := range b.admitAll(b.s.Retained, false) {
			if _, live := byPort[c.servicePort]; live {
				continue
			}
			prev, ok := out[c.servicePort]
			if ok && prev.meta[MetaVersion] >= c.inst.Meta[MetaVersion] {
				continue
			}
			out[c.servicePort] = shape{owners: []string{appOf(c.inst)}, meta: c.inst.Meta, portIndex: c.portIndex}
		}
		return out
	}
	for _, app := range b.s.Master.Apps {
		for idx, port := range app.ServicePorts {
			if port < 1 || port > 65535 || slices.Contains(b.r.ReservedPorts, port) {
				continue
			}
			if !inGroup(groupOf(app.Labels, idx), b.r.Group) {
				continue
			}
			sh, ok := out[port]
			if !ok {
				sh = shape{meta: app.Labels, portIndex: idx}
			}
			if !slices.Contains(sh.owners, app.ID) {
				sh.owners = append(sh.owners, app.ID)
			}
			slices.Sort(sh.owners)
			out[port] = sh
		}
	}
	return out
}

// buildService makes one servicePort's Service from its candidates and
// shape; false means the port has no owner and gets no service. Labels
// come from the owner's instance with the newest berth_version (ties:
// smallest ID), else from the shape.
func (b *modelBuilder) buildService(port int, cands []candidate, sh shape) (Service, bool) {
	subject := "servicePort " + strconv.Itoa(port)
	owners := sh.owners
	switch {
	case b.s.Master != nil && len(owners) == 0:
		for _, c := range cands {
			b.exclude(c, ExcludedStaleOwner, "no app of the master has servicePort %d", port)
		}
		return Service{}, false
	case b.s.Master == nil && len(cands) > 0:
		owner := appOf(cands[0].inst)
		for _, c := range cands[1:] {
			owner = min(owner, appOf(c.inst))
		}
		owners = []string{owner}
	case len(owners) == 0:
		return Service{}, false
	}
	var mine []candidate
	for _, c := range cands {
		app := appOf(c.inst)
		if slices.Contains(owners, app) {
			if ok, why := taskVerdict(b.s.Master, app, c.inst.Meta[MetaTask]); !ok {
				b.exclude(c, ExcludedStaleTask, "%s", why)
				continue
			}
			mine = append(mine, c)
			continue
		}
		if b.s.Master != nil {
			b.exclude(c, ExcludedStaleOwner, "servicePort %d belongs to app %s in the master's record", port, strings.Join(owners, ", "))
			continue
		}
		b.warn(subject, "instance %s of app %s dropped: the port belongs to app %s",
			quoteValue(c.inst.ID), quoteValue(app), quoteValue(owners[0]))
		b.exclude(c, ExcludedStaleOwner, "servicePort %d belongs to app %s (smallest app id)", port, owners[0])
	}
	meta, portIndex, consulName := sh.meta, sh.portIndex, ""
	if len(mine) > 0 {
		cfg := mine[0]
		for _, c := range mine[1:] {
			if c.inst.Meta[MetaVersion] > cfg.inst.Meta[MetaVersion] {
				cfg = c
			}
		}
		meta, portIndex, consulName = cfg.inst.Meta, cfg.portIndex, cfg.inst.Service
	}
	svc := Service{
		Name:          sanitizeName(strings.TrimPrefix(owners[0], "/")) + "_" + strconv.Itoa(port),
		App:           owners[0],
		ConsulService: consulName,
		ServicePort:   port,
		PortIndex:     portIndex,
	}
	if ok, why := enabled(meta, portIndex, b.r.StrictMode, func(format string, a ...any) { b.warn(subject, format, a...) }); !ok {
		for _, c := range mine {
			b.exclude(c, ExcludedDisabled, "%s", why)
		}
		return Service{}, false
	}
	applyLabels(&svc, meta, port == b.r.HTTPPort, func(format string, a ...any) { b.warn(subject, format, a...) })
	if g := meta[MetaDeploymentGroup]; g != "" {
		if h, err := parseHost(g); err == nil || safeTask(g) == g {
			svc.DeploymentGroup = cmp.Or(h, g)
		} else {
			b.warn(subject, "%s %s rejected: not a name", MetaDeploymentGroup, quoteValue(g))
		}
	}
	svc.Backends = b.backends(mine)
	return svc, true
}

// backends returns the routable backends of cands, sorted by endpoint
// (numerically; candidates are already in ID order, and the sort is
// stable), one per endpoint; the others are excluded with their reason.
func (b *modelBuilder) backends(cands []candidate) []Backend {
	slices.SortStableFunc(cands, func(x, y candidate) int {
		return netip.AddrPortFrom(x.addr, uint16(x.inst.Port)).Compare(netip.AddrPortFrom(y.addr, uint16(y.inst.Port)))
	})
	out := make([]Backend, 0, len(cands))
	var last netip.AddrPort
	for _, c := range cands {
		switch c.inst.Status {
		case "", StatusPassing:
			if b.s.Master != nil && c.inst.Meta[MetaTask] != "" {
				if check, ok := b.s.Master.NotReady[c.inst.Meta[MetaTask]]; ok {
					b.exclude(c, ExcludedNotReady, "readiness check %s has not passed on the master", quoteValue(safeDetail(check)))
					continue
				}
			}
		case StatusWarning:
			b.exclude(c, ExcludedNotReady, "Consul check warning: %s", safeDetail(c.inst.Check))
			continue
		case StatusMaintenance:
			b.exclude(c, ExcludedDraining, "in Consul maintenance: %s", safeDetail(c.inst.Check))
			continue
		default:
			b.exclude(c, ExcludedUnhealthy, "Consul check %s: %s", safeDetail(c.inst.Status), safeDetail(c.inst.Check))
			continue
		}
		ap := netip.AddrPortFrom(c.addr, uint16(c.inst.Port))
		if len(out) > 0 && ap == last {
			continue // two registrations of one endpoint make one server
		}
		last = ap
		addr := c.inst.Address // IPv4 literals parse only in canonical form
		if !c.addr.Is4() {
			addr = c.addr.String()
		}
		w := c.inst.Weight
		if w < 0 || w > 256 || w == 1 {
			w = 0 // HAProxy's default weight
		}
		out = append(out, Backend{
			Address: addr, Port: c.inst.Port, ID: c.inst.ID, Task: safeTask(c.inst.Meta[MetaTask]),
			Health: StatusPassing, Weight: w, hostPort: ap.String(),
		})
	}
	return out
}

// safeDetail keeps a check's name/output for display: one line, printable,
// at most 200 bytes.
func safeDetail(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strings.TrimSpace(s)
}
