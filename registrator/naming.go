package registrator

import (
	"path"
	"sort"
	"strconv"
	"strings"
)

// port is one candidate service port of a container: an exposed port and
// where it is published.
type port struct {
	key       string // "80/tcp", as in Config.ExposedPorts
	exposed   string // "80"
	proto     string // "tcp" or "udp"
	hostIP    string // binding IP; "0.0.0.0" when unspecified
	hostPort  string // "" when not published
	exposedIP string // the container's IP
}

// ServicesFor returns the Consul services container c should have under
// registrator's rules, and why anything was left out. It is pure: all it
// needs about the host comes in opts.
//
// One service per published port (every exposed port with -internal, every
// exposed port of a host-networked container). Name: SERVICE_<port>_NAME,
// else SERVICE_NAME, else the image's base name without tag; when the
// container has more than one service port, "-<exposed port>" is appended
// unless the name came from SERVICE_<port>_NAME. ID:
// hostname:container-name:exposed-port[:udp] unless SERVICE_[<port>_]ID.
// Berth containers also get berth_* Meta, HAPROXY_* labels, tag "berth" and
// a check mirroring their first HTTP/TCP health check.
func ServicesFor(c Container, opts Options) ([]Service, []Skip) {
	if reason := containerSkipReason(c); reason != "" {
		return nil, []Skip{{Container: c.Name, Reason: reason}}
	}
	if reason := ForeignReason(c.Labels, opts.ClusterID); reason != "" {
		return nil, []Skip{{Container: c.Name, Reason: reason}}
	}
	bt, skips := parseBerth(c)
	candidates := collectPorts(c, bt)
	if len(candidates) == 0 {
		return nil, append(skips, Skip{Container: c.Name, Reason: "no published ports"})
	}
	var published []port
	for _, p := range candidates {
		if p.hostPort == "" && !opts.Internal {
			skips = append(skips, Skip{Container: c.Name, Port: p.key, Reason: "not published on host"})
			continue
		}
		published = append(published, p)
	}
	if len(published) == 0 {
		return nil, skips
	}
	b := build{c: c, opts: opts, bt: bt, isGroup: len(published) > 1}
	if bt != nil {
		b.endpoints = bt.endpoints(c, published, opts)
	}
	var note string
	if b.forcedTags, note = forcedTags(c, opts); note != "" {
		skips = append(skips, Skip{Container: c.Name, Reason: note})
	}
	var out []Service
	for _, p := range published {
		svc, notes, ok := b.service(p)
		for _, n := range notes {
			skips = append(skips, Skip{Container: c.Name, Port: p.key, Reason: n})
		}
		if ok {
			out = append(out, svc)
		}
	}
	return out, skips
}

// containerSkipReason says why a container has no services at all, or "".
func containerSkipReason(c Container) string {
	switch {
	case !c.Running:
		return "not running (exit code " + strconv.Itoa(c.ExitCode) + ")"
	case c.Restarting:
		return "restarting"
	case c.Paused:
		return "paused: a paused container cannot answer"
	case c.Labels[LabelTaskID] != "" && c.Health != "" && c.Health != "healthy":
		return "Berth task whose Docker health is " + c.Health + ": registered once healthy"
	}
	return ""
}

// collectPorts lists the container's candidate ports sorted by key, the way
// registrator does: every exposed port as if published on the same host port
// (host networking), overridden by NetworkSettings.Ports (bridge
// networking). A host-networked Berth container also gets the ports its
// berth.port.<i>.container labels name, as the agent may not EXPOSE them.
func collectPorts(c Container, bt *berthTask) []port {
	byKey := map[string]port{}
	for _, key := range c.ExposedPorts {
		num, _ := splitPortKey(key)
		byKey[key] = makePort(c, key, []Binding{{HostIP: "0.0.0.0", HostPort: num}})
	}
	for key, bindings := range c.Ports {
		byKey[key] = makePort(c, key, bindings)
	}
	if bt != nil && c.NetworkMode == "host" {
		for _, bp := range bt.ports {
			key := bp.container + "/tcp"
			if _, ok := byKey[key]; !ok && bp.container != "" {
				byKey[key] = makePort(c, key, []Binding{{HostIP: "0.0.0.0", HostPort: bp.container}})
			}
		}
	}
	out := make([]port, 0, len(byKey))
	for _, p := range byKey {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return portLess(out[i], out[j]) })
	return out
}

func portLess(a, b port) bool {
	an, aerr := strconv.Atoi(a.exposed)
	bn, berr := strconv.Atoi(b.exposed)
	if aerr == nil && berr == nil && an != bn {
		return an < bn
	}
	return a.key < b.key
}

func makePort(c Container, key string, bindings []Binding) port {
	p := port{key: key, hostIP: "0.0.0.0", exposedIP: c.IP}
	p.exposed, p.proto = splitPortKey(key)
	if len(bindings) > 0 {
		p.hostPort = bindings[0].HostPort
		if bindings[0].HostIP != "" {
			p.hostIP = bindings[0].HostIP
		}
	}
	// On a user-defined network registrator uses the container's address on
	// that network even for a published port.
	switch nm := c.NetworkMode; nm {
	case "bridge", "default", "host", "":
	default:
		if ip, ok := c.NetworkIPs[nm]; ok {
			p.hostIP = ip
		}
	}
	return p
}

// splitPortKey splits "80/udp" into "80", "udp"; the protocol defaults to tcp.
func splitPortKey(key string) (num, proto string) {
	num, proto, ok := strings.Cut(key, "/")
	if !ok || proto == "" {
		proto = "tcp"
	}
	return num, proto
}

// address is where a port's service is registered: host IP and published
// port, or container IP and exposed port with -internal, with registrator's
// overrides (-ip, -useIpFromLabel, container:<id> networking) applied.
func address(c Container, p port, opts Options) (string, int) {
	ip := p.hostIP
	if ip == "0.0.0.0" && opts.HostIP != "" {
		ip = opts.HostIP
	}
	if opts.ForceIP != "" {
		ip = opts.ForceIP
	}
	portStr := p.hostPort
	if opts.Internal {
		ip, portStr = p.exposedIP, p.exposed
	}
	if opts.UseIPFromLabel != "" {
		if v := c.Labels[opts.UseIPFromLabel]; v != "" {
			if i := strings.LastIndex(v, "/"); i >= 0 {
				v = v[:i]
			}
			ip = v
		}
	}
	if strings.HasPrefix(c.NetworkMode, "container:") && c.NetworkContainerIP != "" {
		ip = c.NetworkContainerIP
	}
	n, _ := strconv.Atoi(portStr)
	return ip, n
}

// build is what the services of one container share.
type build struct {
	c          Container
	opts       Options
	bt         *berthTask // nil for a container that is not a Berth task
	isGroup    bool       // more than one service port: names get -<port>
	endpoints  map[int]endpoint
	forcedTags []string // -tags, rendered for this container
}

// service builds the service of one port; ok is false when the port is
// ignored (SERVICE_IGNORE, or -explicit without a name). notes explain any
// part of the registration that was dropped.
func (b build) service(p port) (svc Service, notes []string, ok bool) {
	c, opts := b.c, b.opts
	attrs, fromPort := serviceMetadata(c, p.exposed)
	if attrs["ignore"] != "" {
		return Service{}, []string{"ignored: SERVICE_IGNORE is set"}, false
	}
	name := attrs["name"]
	if name == "" {
		if opts.Explicit {
			return Service{}, []string{"ignored: -explicit and no SERVICE_NAME"}, false
		}
		name = imageBaseName(c.Image)
	}
	if b.isGroup && !fromPort["name"] {
		name += "-" + p.exposed
	}
	host := opts.Hostname
	if host == "" {
		host = p.hostIP
	}
	svc.ID = host + ":" + c.Name + ":" + p.exposed
	svc.Name = name
	svc.Address, svc.Port = address(c, p, opts)
	svc.Tags = append(splitTags(attrs["tags"]), b.forcedTags...)
	if p.proto == "udp" {
		svc.Tags = append(svc.Tags, "udp")
		svc.ID += ":udp"
	}
	if id := attrs["id"]; id != "" {
		svc.ID = id
	}
	delete(attrs, "id")
	delete(attrs, "tags")
	delete(attrs, "name")

	notes = b.decorate(&svc, p, attrs)
	return svc, notes, true
}

// decorate sets the service's check (SERVICE_CHECK_* first, else the Berth
// health check), Berth's tag and keys, and the Meta with its fingerprint.
func (b build) decorate(svc *Service, p port, attrs map[string]string) []string {
	c, opts, bt := b.c, b.opts, b.bt
	check, notes := checkFromAttrs(attrs, c, p, svc.Address, svc.Port)
	fixed := map[string]string{
		MetaOwner:     opts.Owner,
		MetaContainer: shortID(c.ID),
	}
	if bt != nil {
		if !containsTag(svc.Tags, TagBerth) {
			svc.Tags = append(svc.Tags, TagBerth)
		}
		idx, hasIdx := bt.indexFor(p.exposed)
		bt.addMeta(fixed, attrs, idx, hasIdx)
		if check == nil {
			var n string
			check, n = bt.check(b.endpoints)
			if n != "" {
				notes = append(notes, n)
			}
			if check != nil && c.AgentHealthy {
				check.Status, check.ForceStatus = "passing", true // the agent's own check passed already
			}
		}
	}
	svc.Check = check
	var metaNotes []string
	svc.Meta, metaNotes = buildMeta(fixed, attrs)
	svc.Meta[MetaFingerprint] = Fingerprint(*svc)
	return append(notes, metaNotes...)
}

// imageBaseName is registrator's default service name: the last path
// element of the image reference without its tag.
func imageBaseName(image string) string {
	return strings.Split(path.Base(image), ":")[0]
}

// serviceMetadata collects SERVICE_* keys from the environment, then the
// labels (so a label wins over an env var with the same key), lower-casing
// what follows SERVICE_. SERVICE_<port>_<KEY> applies to that exposed port
// only and always wins over SERVICE_<KEY>; fromPort records which keys came
// from the port-specific form.
func serviceMetadata(c Container, exposed string) (attrs map[string]string, fromPort map[string]bool) {
	attrs = map[string]string{}
	fromPort = map[string]bool{}
	apply := func(k, v string) {
		if !strings.HasPrefix(k, "SERVICE_") {
			return
		}
		key := strings.ToLower(strings.TrimPrefix(k, "SERVICE_"))
		if fromPort[key] {
			return
		}
		head, rest, found := strings.Cut(key, "_")
		if _, err := strconv.Atoi(head); err == nil && found {
			if head != exposed {
				return
			}
			attrs[rest] = v
			fromPort[rest] = true
			return
		}
		attrs[key] = v
	}
	for _, kv := range c.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			apply(k, v)
		}
	}
	keys := make([]string, 0, len(c.Labels))
	for k := range c.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		apply(k, c.Labels[k])
	}
	return attrs, fromPort
}

// splitTags splits a comma-separated tag list; "\," is a literal comma and
// empty elements are dropped. (gliderlabs/registrator happens to emit the
// elements in reverse order; Berth keeps the order written.)
func splitTags(s string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, cur.String())
		}
		cur.Reset()
	}
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && s[i+1] == ',':
			cur.WriteByte(',')
			i++
		case s[i] == ',':
			flush()
		default:
			cur.WriteByte(s[i])
		}
	}
	flush()
	return out
}

func containsTag(tags []string, tag string) bool {
	for _, t := range tags {
		if t == tag {
			return true
		}
	}
	return false
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
