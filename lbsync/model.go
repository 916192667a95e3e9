package lbsync

import (
	"cmp"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Meta keys the registrator writes on every Berth service (DESIGN.md).
const (
	MetaApp         = "berth_app"
	MetaTask        = "berth_task"
	MetaVersion     = "berth_version"
	MetaPortIndex   = "berth_port_index"
	MetaServicePort = "berth_service_port"
	MetaGroup       = "HAPROXY_GROUP"
)

// DefaultGroup is the group of an instance without any HAPROXY_GROUP label,
// and the default of --group.
const DefaultGroup = "external"

// Instance is one passing Consul service instance, as the Source saw it.
type Instance struct {
	Service string            `json:"service"` // Consul service name
	ID      string            `json:"id"`
	Node    string            `json:"node"`
	Address string            `json:"address"` // service address, or the node's
	Port    int               `json:"port"`
	Tags    []string          `json:"tags,omitempty"`
	Meta    map[string]string `json:"meta,omitempty"`
}

// Snapshot is the complete set of passing instances at one moment.
type Snapshot struct {
	Instances []Instance
}

// Rules are the knobs of BuildModel.
type Rules struct {
	// Group selects which instances this lbsync exposes ("*" = all).
	Group string
	// HTTPPort is the port of the virtual-host frontend; an app whose
	// servicePort equals it is that frontend's default backend.
	HTTPPort int
	// ReservedPorts are ports lbsync's own HAProxy uses for something else
	// (the stats page); a servicePort among them is rejected.
	ReservedPorts []int
}

// Model is the routing model: what HAProxy and nginx should do. It is
// sorted and contains only values that passed validation. Build it with
// BuildModel (or Quarantine/WithService over built models): the renderers
// trust its values.
type Model struct {
	HTTPPort int       `json:"httpPort"`
	Services []Service `json:"services"` // by ServicePort
	Routes   []Route   `json:"routes"`   // by Host, longer Path first
	// Default is the Name of the service on HTTPPort, if any.
	Default string `json:"default,omitempty"`
}

// Service is one servicePort: a frontend and its backend.
type Service struct {
	// Name identifies the frontend/backend in configs: the app id with
	// every character outside [A-Za-z0-9_.-] replaced by '_', then
	// "_<servicePort>" (marathon-lb's naming).
	Name            string    `json:"name"`
	App             string    `json:"app"`
	ConsulService   string    `json:"consulService"`
	ServicePort     int       `json:"servicePort"`
	PortIndex       int       `json:"portIndex"`
	Mode            string    `json:"mode"` // tcp or http
	Balance         string    `json:"balance"`
	Sticky          bool      `json:"sticky,omitempty"`
	RedirectToHTTPS bool      `json:"redirectToHttps,omitempty"`
	SSLCert         string    `json:"sslCert,omitempty"`
	VHosts          []string  `json:"vhosts,omitempty"`
	Paths           []string  `json:"paths,omitempty"`
	Backends        []Backend `json:"backends"`
}

// Backend is one instance serving a Service.
type Backend struct {
	Address string `json:"address"` // an IP literal
	Port    int    `json:"port"`
	ID      string `json:"id"` // Consul service ID (never rendered)
	Task    string `json:"task,omitempty"`
	// hostPort caches HostPort() for backends built by BuildModel.
	hostPort string
}

// HostPort is the backend's address as "ip:port" ("[ip6]:port").
func (b Backend) HostPort() string {
	if b.hostPort != "" {
		return b.hostPort
	}
	if a, err := netip.ParseAddr(b.Address); err == nil {
		return netip.AddrPortFrom(a, uint16(b.Port)).String()
	}
	return net.JoinHostPort(b.Address, strconv.Itoa(b.Port))
}

// Route sends requests for Host (and Path prefix, if set) on the HTTP
// frontend to Service.
type Route struct {
	Host        string `json:"host"`
	Path        string `json:"path,omitempty"`
	Service     string `json:"service"`
	ServicePort int    `json:"servicePort"`
}

// Warning says why a value was not used. Every rejected label, instance or
// route produces one.
type Warning struct {
	Subject string `json:"subject"` // e.g. "instance web-1" or "servicePort 10001"
	Reason  string `json:"reason"`
}

func (w Warning) String() string { return w.Subject + ": " + w.Reason }

// candidate is an instance that passed the per-instance checks.
type candidate struct {
	inst        *Instance
	addr        netip.Addr
	servicePort int
	portIndex   int
}

// BuildModel turns a snapshot into the routing model. It is pure: the same
// snapshot and rules always give the same model and warnings.
func BuildModel(s Snapshot, r Rules) (Model, []Warning) {
	var warns []Warning
	warn := func(subject, format string, a ...any) {
		warns = append(warns, Warning{Subject: subject, Reason: fmt.Sprintf(format, a...)})
	}
	order := make([]int, len(s.Instances))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int {
		a, b := &s.Instances[i], &s.Instances[j]
		if c := strings.Compare(a.Service, b.Service); c != 0 {
			return c
		}
		if c := strings.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		return strings.Compare(a.Node, b.Node)
	})
	cands := make([]candidate, 0, len(order))
	for _, i := range order {
		if c, ok := admit(&s.Instances[i], r, warn); ok {
			cands = append(cands, c)
		}
	}
	// Group by servicePort; the stable sort keeps the instance order
	// within a port.
	slices.SortStableFunc(cands, func(a, b candidate) int { return a.servicePort - b.servicePort })
	m := Model{HTTPPort: r.HTTPPort}
	for start := 0; start < len(cands); {
		port, end := cands[start].servicePort, start+1
		for end < len(cands) && cands[end].servicePort == port {
			end++
		}
		svc := buildService(port, cands[start:end:end], r, warn)
		start = end
		m.Services = append(m.Services, svc)
		if port == r.HTTPPort {
			m.Default = svc.Name
		}
	}
	m.Routes = buildRoutes(m.Services, warn)
	return m, warns
}

// admit applies the per-instance checks: is it Berth's, does it have a
// valid servicePort, address and port, and is it in our group.
func admit(in *Instance, r Rules, warnTo func(string, string, ...any)) (candidate, bool) {
	raw, ok := in.Meta[MetaServicePort]
	if !ok {
		return candidate{}, false // not a routable Berth service: nothing to say
	}
	warn := func(_, format string, a ...any) { // only called on rejection
		warnTo("instance "+quoteValue(in.ID), format, a...)
	}
	c := candidate{inst: in}
	var err error
	if c.servicePort, err = parsePort(raw); err != nil {
		warn("", "%s %s: %v", MetaServicePort, quoteValue(raw), err)
		return c, false
	}
	if slices.Contains(r.ReservedPorts, c.servicePort) {
		warn("", "servicePort %d is reserved by lbsync itself", c.servicePort)
		return c, false
	}
	if rawIdx, ok := in.Meta[MetaPortIndex]; ok {
		if c.portIndex, err = parseNumber(rawIdx, 0, 63); err != nil {
			warn("", "%s %s: %v", MetaPortIndex, quoteValue(rawIdx), err)
			return c, false
		}
	}
	if c.addr, err = netip.ParseAddr(in.Address); err != nil || c.addr.Zone() != "" {
		warn("", "address %s is not an IP address", quoteValue(in.Address))
		return c, false
	}
	c.addr = c.addr.Unmap()
	if in.Port < 1 || in.Port > 65535 {
		warn("", "port %d out of range 1-65535", in.Port)
		return c, false
	}
	if !inGroup(groupOf(in.Meta, c.portIndex), r.Group) {
		return c, false // another lbsync's business
	}
	return c, true
}

func groupOf(meta map[string]string, idx int) string {
	var buf [32]byte
	key := strconv.AppendInt(append(buf[:0], "HAPROXY_"...), int64(idx), 10)
	key = append(key, "_GROUP"...)
	if g, ok := meta[string(key)]; ok && g != "" { // no allocation for the lookup
		return g
	}
	if g, ok := meta[MetaGroup]; ok && g != "" {
		return g
	}
	return DefaultGroup
}

func inGroup(group, want string) bool {
	if want == "" {
		want = DefaultGroup
	}
	return want == "*" || group == want
}

func labelKey(idx int, name string) string {
	return "HAPROXY_" + strconv.Itoa(idx) + "_" + name
}

// buildService makes one servicePort's Service from its candidates. Labels
// come from the instance with the newest berth_version (ties: smallest ID);
// when several apps claim the port, the smallest app id keeps it.
func buildService(port int, cands []candidate, r Rules, warnTo func(string, string, ...any)) Service {
	warn := func(format string, a ...any) { warnTo("servicePort "+strconv.Itoa(port), format, a...) }
	owner := appOf(cands[0].inst)
	for _, c := range cands[1:] {
		owner = min(owner, appOf(c.inst))
	}
	mine := cands
	if !allOf(cands, owner) {
		mine = nil
		for _, c := range cands {
			if app := appOf(c.inst); app != owner {
				warn("instance %s of app %s dropped: the port belongs to app %s",
					quoteValue(c.inst.ID), quoteValue(app), quoteValue(owner))
				continue
			}
			mine = append(mine, c)
		}
	}
	cfg := mine[0]
	for _, c := range mine[1:] {
		if c.inst.Meta[MetaVersion] > cfg.inst.Meta[MetaVersion] {
			cfg = c
		}
	}
	svc := Service{
		Name:          sanitizeName(strings.TrimPrefix(owner, "/")) + "_" + strconv.Itoa(port),
		App:           owner,
		ConsulService: cfg.inst.Service,
		ServicePort:   port,
		PortIndex:     cfg.portIndex,
	}
	applyLabels(&svc, cfg.inst.Meta, port == r.HTTPPort, func(format string, a ...any) {
		warn(format, a...)
	})
	// Sort by endpoint (numerically; candidates are already in ID order,
	// and the sort is stable), then keep the first of each endpoint: two
	// registrations of one endpoint make one server.
	slices.SortStableFunc(mine, func(a, b candidate) int {
		return netip.AddrPortFrom(a.addr, uint16(a.inst.Port)).Compare(netip.AddrPortFrom(b.addr, uint16(b.inst.Port)))
	})
	svc.Backends = make([]Backend, 0, len(mine))
	var last netip.AddrPort
	for i, c := range mine {
		ap := netip.AddrPortFrom(c.addr, uint16(c.inst.Port))
		if i > 0 && ap == last {
			continue
		}
		last = ap
		addr := c.inst.Address // IPv4 literals parse only in canonical form
		if !c.addr.Is4() {
			addr = c.addr.String()
		}
		svc.Backends = append(svc.Backends, Backend{
			Address: addr, Port: c.inst.Port, ID: c.inst.ID, Task: safeTask(c.inst.Meta[MetaTask]),
			hostPort: ap.String(),
		})
	}
	return svc
}

func allOf(cands []candidate, app string) bool {
	for _, c := range cands {
		if appOf(c.inst) != app {
			return false
		}
	}
	return true
}

func appOf(in *Instance) string {
	if a := in.Meta[MetaApp]; a != "" {
		return a
	}
	return in.Service
}

// safeTask keeps a task id for display only if it is made of name
// characters; it is never rendered into a config.
func safeTask(s string) string {
	if s == "" || len(s) > 100 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(isAlnum(c) || c == '_' || c == '.' || c == '-') {
			return ""
		}
	}
	return s
}

// buildRoutes collects every service's vhosts × paths; a (host, path) pair
// claimed twice goes to the lower servicePort.
func buildRoutes(svcs []Service, warn func(string, string, ...any)) []Route {
	type key struct{ host, path string }
	owner := map[key]int{}
	var routes []Route
	for _, s := range svcs {
		paths := s.Paths
		if len(paths) == 0 {
			paths = []string{""}
		}
		for _, h := range s.VHosts {
			for _, p := range paths {
				k := key{h, p}
				if prev, taken := owner[k]; taken {
					warn("servicePort "+strconv.Itoa(s.ServicePort), "route %s%s already belongs to servicePort %d", h, p, prev)
					continue
				}
				owner[k] = s.ServicePort
				routes = append(routes, Route{Host: h, Path: p, Service: s.Name, ServicePort: s.ServicePort})
			}
		}
	}
	slices.SortFunc(routes, func(a, b Route) int {
		return cmp.Or(cmp.Compare(a.Host, b.Host), cmp.Compare(len(b.Path), len(a.Path)), cmp.Compare(a.Path, b.Path))
	})
	return routes
}
