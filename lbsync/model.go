package lbsync

import (
	"cmp"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Meta keys the registrator writes on every Berth service (DESIGN.md).
const (
	MetaApp         = "berth_app"
	MetaTask        = "berth_task"
	MetaVersion     = "berth_version"
	MetaPortIndex   = "berth_port_index"
	MetaServicePort = "berth_service_port"
	MetaCluster     = "berth_cluster"
	MetaGroup       = "HAPROXY_GROUP"
)

// Consul's aggregated check states, as Instance.Status.
const (
	StatusPassing     = "passing"
	StatusWarning     = "warning"
	StatusCritical    = "critical"
	StatusMaintenance = "maintenance"
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
	// Status is Consul's aggregated check status (StatusPassing, …);
	// "" counts as passing. Only passing instances are routed.
	Status string `json:"status,omitempty"`
	// Check names the first check that is not passing and its output
	// (display only, never rendered).
	Check string `json:"check,omitempty"`
	// Weight is Consul's Weights.Passing (0 = unset = 1).
	Weight int `json:"weight,omitempty"`
}

// Snapshot is everything BuildModel decides from: every instance of the
// watched services (passing or not) and, with --master, the master's
// record of which app owns which servicePort.
type Snapshot struct {
	Instances []Instance
	// Master is the master's record; nil without --master (then the
	// instances alone decide, and Retained keeps emptied servicePorts).
	Master *MasterRecord
	// Retained are instances (labels only) of servicePorts that had
	// instances earlier and have none now (see Retain): such a servicePort
	// keeps its frontend and answers 503 instead of refusing connections.
	// Ignored when Master is set (the master's apps say it then).
	Retained []Instance
}

// MasterRecord is the master's view of routing ownership (/v2/info,
// /v2/apps): the authority for which app owns a servicePort.
type MasterRecord struct {
	ClusterID string      `json:"clusterId,omitempty"`
	Apps      []MasterApp `json:"apps"`
	// NotReady are the tasks whose Marathon readiness check has not
	// passed yet (readinessCheckResults with ready false), by task id,
	// with the check's name: they are not routed even when Consul passes.
	NotReady map[string]string `json:"notReady,omitempty"`
	// Tasks are the tasks the master lists (task id → app id): an
	// instance whose task it does not list for the instance's app is
	// excluded as ExcludedStaleTask. nil: the record has no task lists
	// (then no instance is judged by its task id).
	Tasks map[string]string `json:"-"`
	// seq orders the records of one MasterClient by the start of their
	// fetch (0: not from a MasterClient).
	seq uint64
}

// MasterApp is one app of the master: its servicePorts in port index
// order and its labels (the HAPROXY_* labels of an app without instances).
type MasterApp struct {
	ID           string            `json:"id"`
	ServicePorts []int             `json:"servicePorts"`
	Labels       map[string]string `json:"labels,omitempty"`
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
	// StrictMode exposes only ports with HAPROXY_{n}_ENABLED=true
	// (marathon-lb's --strict-mode).
	StrictMode bool
	// ClusterID, if set, admits only instances whose berth_cluster is it;
	// if empty, the master record's cluster id is used; if both are
	// empty, every instance is admitted.
	ClusterID string
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
	// Unrouted are instances claiming a servicePort that has no service
	// here (a foreign cluster's, or one no app of the master owns).
	Unrouted []Excluded `json:"unrouted,omitempty"`
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
	// Check is the app's health check rendered as HAProxy checks.
	Check *HealthCheck `json:"check,omitempty"`
	// BindPort is HAPROXY_{n}_PORT: the frontend binds it instead of
	// ServicePort (0 = ServicePort).
	BindPort    int      `json:"bindPort,omitempty"`
	BindAddr    string   `json:"bindAddr,omitempty"`    // HAPROXY_{n}_BIND_ADDR
	BindOptions []string `json:"bindOptions,omitempty"` // HAPROXY_{n}_BIND_OPTIONS, whitelisted
	// RouteWeight orders the HTTP frontend's rules (HAPROXY_{n}_BACKEND_WEIGHT,
	// larger first; 1 when a path is set and no weight is).
	RouteWeight    int        `json:"routeWeight,omitempty"`
	HSTS           bool       `json:"hsts,omitempty"`
	Auth           *BasicAuth `json:"auth,omitempty"`
	ProxyPassPath  string     `json:"proxyPassPath,omitempty"`
	RevProxyPath   string     `json:"revProxyPath,omitempty"`
	RedirectRoot   string     `json:"redirectRoot,omitempty"`
	TimeoutServer  string     `json:"timeoutServer,omitempty"`
	TimeoutConnect string     `json:"timeoutConnect,omitempty"`
	MaxConn        int        `json:"maxConn,omitempty"`
	// DeploymentGroup is HAPROXY_DEPLOYMENT_GROUP; Apps lists every app
	// whose instances serve here (two during a blue/green switch).
	DeploymentGroup string   `json:"deploymentGroup,omitempty"`
	Apps            []string `json:"apps,omitempty"`
	// Excluded are this servicePort's instances that are not routed, each
	// with its reason. Not part of the config.
	Excluded []Excluded `json:"excluded,omitempty"`
}

// Backend is one instance serving a Service.
type Backend struct {
	Address string `json:"address"` // an IP literal
	Port    int    `json:"port"`
	ID      string `json:"id"` // Consul service ID (never rendered)
	Task    string `json:"task,omitempty"`
	Health  string `json:"health"` // Consul's status: passing
	// LB is HAProxy's own view of the server when /routes was served
	// (UP, DOWN, MAINT, DRAIN; "" unknown), from its health checks.
	LB     string `json:"lb,omitempty"`
	Weight int    `json:"weight,omitempty"` // HAProxy server weight; 0 = 1
	// InConsulAt and RoutedAt are the Syncer's (never BuildModel's): when
	// lbsync first saw the instance passing in a Consul snapshot, and
	// when it first applied it to HAProxy (the Runtime API call or the
	// reload that brought it in returned ok).
	InConsulAt time.Time `json:"inConsulAt,omitzero"`
	RoutedAt   time.Time `json:"routedAt,omitzero"`
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

// Why an instance is not routed (Excluded.Kind).
const (
	ExcludedNotReady   = "not ready"       // Consul check warning, or the master's readiness check
	ExcludedUnhealthy  = "unhealthy"       // Consul check critical
	ExcludedDraining   = "draining"        // Consul maintenance (the agent drains it)
	ExcludedForeign    = "foreign cluster" // berth_cluster is not ours
	ExcludedStaleOwner = "stale owner"     // the servicePort belongs to another app
	ExcludedStaleTask  = "stale task"      // the master does not list the task for its app
	ExcludedDisabled   = "disabled"        // HAPROXY_{n}_ENABLED (or strict mode)
)

// Excluded is an instance that is not routed, and why.
type Excluded struct {
	ServicePort int    `json:"servicePort"`
	App         string `json:"app"`
	ID          string `json:"id"`
	Address     string `json:"address"`
	Port        int    `json:"port"`
	Task        string `json:"task,omitempty"`
	Kind        string `json:"kind"`   // one of the Excluded* constants
	Reason      string `json:"reason"` // the details
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

// modelBuilder carries one BuildModel call's inputs and findings.
type modelBuilder struct {
	s         Snapshot
	r         Rules
	clusterID string
	warns     []Warning
	excluded  map[int][]Excluded // by servicePort
}

func (b *modelBuilder) warn(subject, format string, a ...any) {
	b.warns = append(b.warns, Warning{Subject: subject, Reason: fmt.Sprintf(format, a...)})
}

func (b *modelBuilder) exclude(c candidate, kind, format string, a ...any) {
	if b.excluded == nil {
		b.excluded = map[int][]Excluded{}
	}
	addr := c.inst.Address
	if c.addr.IsValid() {
		addr = c.addr.String()
	}
	b.excluded[c.servicePort] = append(b.excluded[c.servicePort], Excluded{
		ServicePort: c.servicePort, App: appOf(c.inst), ID: c.inst.ID, Address: addr, Port: c.inst.Port,
		Task: safeTask(c.inst.Meta[MetaTask]), Kind: kind, Reason: fmt.Sprintf(format, a...),
	})
}

// BuildModel turns a snapshot into the routing model. It is pure: the same
// snapshot and rules always give the same model and warnings.
//
// Per servicePort: the owning app is the master's (Snapshot.Master) or,
// without a master, the smallest app id among the claimants; instances of
// other apps and of other clusters are excluded, and so are instances that
// are not passing in Consul. A servicePort whose owner has no routable
// instance keeps its frontend with no servers (HTTP answers 503, TCP
// closes at once).
func BuildModel(s Snapshot, r Rules) (Model, []Warning) {
	b := &modelBuilder{s: s, r: r, clusterID: r.ClusterID}
	if b.clusterID == "" && s.Master != nil {
		b.clusterID = s.Master.ClusterID
	}
	cands := b.admitAll(s.Instances, true)
	// Group by servicePort; the stable sort keeps the instance order
	// within a port.
	slices.SortStableFunc(cands, func(a, b candidate) int { return a.servicePort - b.servicePort })
	byPort := map[int][]candidate{}
	var ports []int
	for _, c := range cands {
		if _, ok := byPort[c.servicePort]; !ok {
			ports = append(ports, c.servicePort)
		}
		byPort[c.servicePort] = append(byPort[c.servicePort], c)
	}
	shapes := b.shapes(byPort)
	for p := range shapes {
		if _, ok := byPort[p]; !ok {
			ports = append(ports, p)
		}
	}
	slices.Sort(ports)
	m := Model{HTTPPort: r.HTTPPort, Services: make([]Service, 0, len(ports))}
	for _, port := range ports {
		svc, ok := b.buildService(port, byPort[port], shapes[port])
		if !ok {
			continue
		}
		m.Services = append(m.Services, svc)
		if port == r.HTTPPort {
			m.Default = svc.Name
		}
	}
	have := map[int]bool{}
	for i := range m.Services {
		svc := &m.Services[i]
		have[svc.ServicePort] = true
		svc.Excluded = b.excluded[svc.ServicePort]
	}
	m.Services = mergeFrontends(m.Services, r.HTTPPort, r.ReservedPorts, b.warn)
	m.Default = ""
	for _, svc := range m.Services {
		if svc.ServicePort == r.HTTPPort {
			m.Default = svc.Name
		}
	}
	for _, p := range slices.Sorted(maps.Keys(b.excluded)) {
		if !have[p] {
			m.Unrouted = append(m.Unrouted, b.excluded[p]...)
		}
	}
	m.Routes = buildRoutes(m.Services, b.warn)
	return m, b.warns
}

// admitAll sorts instances (by service, ID, node) and applies the
// per-instance checks; real says they are live instances (their
// rejections are warned about and foreign ones excluded), not retained
// label sources.
func (b *modelBuilder) admitAll(insts []Instance, real bool) []candidate {
	order := make([]int, len(insts))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int {
		a, b := &insts[i], &insts[j]
		return cmp.Or(strings.Compare(a.Service, b.Service), strings.Compare(a.ID, b.ID), strings.Compare(a.Node, b.Node))
	})
	warn := b.warn
	if !real {
		warn = func(string, string, ...any) {}
	}
	cands := make([]candidate, 0, len(order))
	for _, i := range order {
		c, ok := admit(&insts[i], b.r, warn)
		if !ok {
			continue
		}
		if b.clusterID != "" {
			if got := c.inst.Meta[MetaCluster]; got != b.clusterID {
				if real {
					if got == "" {
						b.exclude(c, ExcludedForeign, "no %s (ours is %s)", MetaCluster, b.clusterID)
					} else {
						b.exclude(c, ExcludedForeign, "%s %s (ours is %s)", MetaCluster, quoteValue(got), b.clusterID)
					}
				}
				continue
			}
		}
		cands = append(cands, c)
	}
	return cands
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
// claimed twice goes to the higher HAPROXY_{n}_BACKEND_WEIGHT, then to the
// lower servicePort. Within a host, rules go by weight (larger first),
// then longer path first (use_backend is first-match).
func buildRoutes(svcs []Service, warn func(string, string, ...any)) []Route {
	type key struct{ host, path string }
	owner := map[key]int{}
	weight := map[string]int{}
	order := make([]int, len(svcs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(svcs[b].RouteWeight, svcs[a].RouteWeight) })
	var routes []Route
	for _, i := range order {
		s := &svcs[i]
		weight[s.Name] = s.RouteWeight
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
		return cmp.Or(cmp.Compare(a.Host, b.Host), cmp.Compare(weight[b.Service], weight[a.Service]),
			cmp.Compare(len(b.Path), len(a.Path)), cmp.Compare(a.Path, b.Path))
	})
	return routes
}
