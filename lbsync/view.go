package lbsync

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Slots is, per HAProxy backend name, the backend's server slots: slot i+1
// (server "s<i+1>") holds Slots[name][i], or a zero Backend when it is
// free. Slots let membership changes go through the Runtime API: a slot is
// filled with `set server … addr … port …` + `state ready` and emptied with
// `state maint`, and the rendered file says the same, so a later reload
// changes nothing.
type Slots map[string][]Backend

// MinSlots is the smallest slot count of a backend.
const MinSlots = 8

// AssignSlots gives every backend of m a slot. Backends already in prev
// keep their slot; new ones take the lowest free slot. A backend's slot
// count only changes when its backends no longer fit: it becomes twice the
// next power of two of the backend count (so a scale-up rarely needs a
// reload). It is pure.
func AssignSlots(prev Slots, m Model) Slots {
	next := make(Slots, len(m.Services))
	for _, s := range m.Services {
		old := prev[s.Name]
		capacity := len(old)
		if capacity == 0 || len(s.Backends) > capacity { // an empty backend too: 0 → 1 is a runtime change
			capacity = max(MinSlots, nextPow2(len(s.Backends))*2)
		}
		slots := make([]Backend, capacity)
		placed := make([]bool, len(s.Backends))
		for i, b := range old {
			if b.Port == 0 {
				continue
			}
			for j, nb := range s.Backends { // backends are few: a scan beats a map
				if !placed[j] && nb.Port == b.Port && nb.Address == b.Address {
					slots[i], placed[j] = nb, true
					break
				}
			}
		}
		free := 0
		for j, b := range s.Backends {
			if placed[j] {
				continue
			}
			for slots[free].Port != 0 {
				free++
			}
			slots[free] = b
		}
		next[s.Name] = slots
	}
	return next
}

// Skeleton is s with every slot free: the config rendered from it differs
// from another skeleton's only if something other than membership changed.
func (s Slots) Skeleton() Slots {
	out := make(Slots, len(s))
	for k, v := range s {
		out[k] = make([]Backend, len(v))
	}
	return out
}

// RuntimeCommands are the Runtime API commands that turn prev's slots into
// next's, for every slot both have. Slots only next has are new in the
// config and need a reload.
func RuntimeCommands(prev, next Slots) []string {
	var cmds []string
	for _, name := range slices.Sorted(maps.Keys(next)) {
		old, ok := prev[name]
		if !ok {
			continue
		}
		for i := range min(len(old), len(next[name])) {
			o, n := old[i], next[name][i]
			srv := fmt.Sprintf("%s/s%d", name, i+1)
			ow, nw := max(o.Weight, 1), max(n.Weight, 1) // a free slot weighs 1
			if o.Port == n.Port && o.Address == n.Address {
				if n.Port != 0 && ow != nw {
					cmds = append(cmds, fmt.Sprintf("set server %s weight %d", srv, nw))
				}
				continue
			}
			if n.Port == 0 {
				// Back to the placeholder address the rendered file shows
				// for a free slot, so the runtime state equals the file.
				cmds = append(cmds, "set server "+srv+" state maint",
					"set server "+srv+" addr 127.0.0.1 port 1")
				if ow != 1 {
					cmds = append(cmds, "set server "+srv+" weight 1")
				}
				continue
			}
			cmds = append(cmds, fmt.Sprintf("set server %s addr %s port %d", srv, n.Address, n.Port))
			if ow != nw {
				cmds = append(cmds, fmt.Sprintf("set server %s weight %d", srv, nw))
			}
			cmds = append(cmds, "set server "+srv+" state ready")
		}
	}
	return cmds
}

func nextPow2(n int) int {
	p := 1
	for p < n {
		p *= 2
	}
	return p
}

// HAProxySettings are the operator's choices rendered into haproxy.cfg.
type HAProxySettings struct {
	StatsSocket string // Runtime API socket (level admin)
	StateFile   string // server-state-file
	StatsPort   int    // stats page port; 0 = none
	BindAddr    string // address the frontends bind; "" = all
}

// HAProxyView is what templates/haproxy.cfg.tmpl lays out.
type HAProxyView struct {
	Settings HAProxySettings
	HTTPPort int
	Default  string // backend of the HTTP frontend when no route matches
	Proxies  []HAProxyProxy
	Routes   []HAProxyRoute
}

// HAProxyProxy is one servicePort: a frontend and a backend of one name.
type HAProxyProxy struct {
	Name            string
	Port            int
	Mode            string
	Balance         string
	Sticky          bool
	RedirectToHTTPS bool
	SSLCert         string
	OnHTTPPort      bool // the HTTP frontend serves this port; no own frontend
	Check           *HealthCheck
	Servers         []ServerLine
	BindAddr        string   // "" = Settings.BindAddr
	BindOptions     []string // whitelisted, each "flag" or "flag value"
	HSTS            bool
	Auth            *BasicAuth
	RootRedirects   []HAProxyRootRedirect // HAPROXY_{n}_HTTP_BACKEND_REDIR, one per vhost
	ProxyPass       *HAProxyRewrite       // HAPROXY_{n}_HTTP_BACKEND_PROXYPASS_PATH
	RevProxy        *HAProxyRewrite       // HAPROXY_{n}_HTTP_BACKEND_REVPROXY_PATH
	TimeoutServer   string
	TimeoutConnect  string
	MaxConn         int
}

// HAProxyRootRedirect sends "/" on Host to Location.
type HAProxyRootRedirect struct{ Host, Location string }

// HAProxyRewrite is a path rewrite: Regex (single-quoted in the config;
// built from validated paths and host names only) and its replacement.
type HAProxyRewrite struct{ Host, Regex, Replace string }

// ServerLine is one `server` line (a filled slot) or one `server-template`
// line (a run of free slots From..To).
type ServerLine struct {
	Template bool
	Name     string // s<N>
	Addr     string // ip:port
	Weight   int    // 0 = HAProxy's default (1)
	From, To int
}

// HAProxyRoute is one `use_backend` rule of the HTTP frontend.
type HAProxyRoute struct {
	Host, Path, Backend string
	RedirectToHTTPS     bool
}

// BuildHAProxyView lays the model and its slots out for the template.
func BuildHAProxyView(m Model, slots Slots, s HAProxySettings) HAProxyView {
	v := HAProxyView{Settings: s, HTTPPort: m.HTTPPort, Default: m.Default}
	redirect := map[string]bool{}
	for _, svc := range m.Services {
		redirect[svc.Name] = svc.RedirectToHTTPS
		v.Proxies = append(v.Proxies, proxyOf(svc, m.HTTPPort, slots[svc.Name]))
	}
	for _, r := range m.Routes {
		v.Routes = append(v.Routes, HAProxyRoute{Host: r.Host, Path: r.Path, Backend: r.Service, RedirectToHTTPS: redirect[r.Service]})
	}
	return v
}

func proxyOf(svc Service, httpPort int, slots []Backend) HAProxyProxy {
	p := HAProxyProxy{
		Name: svc.Name, Port: svc.FrontendPort(), Mode: svc.Mode, Balance: svc.Balance,
		Sticky: svc.Sticky, RedirectToHTTPS: svc.RedirectToHTTPS, SSLCert: svc.SSLCert,
		OnHTTPPort: svc.ServicePort == httpPort, Check: svc.Check, Servers: serverLines(slots),
		BindAddr: svc.BindAddr, BindOptions: svc.BindOptions, HSTS: svc.HSTS, Auth: svc.Auth,
		TimeoutServer: svc.TimeoutServer, TimeoutConnect: svc.TimeoutConnect, MaxConn: svc.MaxConn,
	}
	if svc.RedirectRoot != "" {
		for _, h := range svc.VHosts {
			p.RootRedirects = append(p.RootRedirects, HAProxyRootRedirect{Host: h, Location: svc.RedirectRoot})
		}
	}
	if len(svc.VHosts) > 0 && svc.ProxyPassPath != "" {
		p.ProxyPass = &HAProxyRewrite{Host: svc.VHosts[0],
			Regex: "^" + regexLiteral(strings.TrimSuffix(svc.ProxyPassPath, "/")) + "/?(.*)", Replace: `/\1`}
	}
	if len(svc.VHosts) > 0 && svc.RevProxyPath != "" {
		root := svc.RevProxyPath
		if root != "/" {
			root = strings.TrimSuffix(root, "/")
		} else {
			root = ""
		}
		p.RevProxy = &HAProxyRewrite{Host: svc.VHosts[0],
			Regex: "^(https?://" + regexLiteral(svc.VHosts[0]) + "(:[0-9]+)?)?(/.*)$", Replace: root + `\3`}
	}
	return p
}

// regexLiteral makes a validated path or host name (letters, digits and
// "/-._~@:+") match itself as a regular expression.
func regexLiteral(s string) string {
	return strings.NewReplacer(".", "[.]", "+", "[+]").Replace(s)
}

func serverLines(slots []Backend) []ServerLine {
	lines := make([]ServerLine, 0, len(slots)/2+1)
	for i := 0; i < len(slots); i++ {
		if slots[i].Port != 0 {
			lines = append(lines, ServerLine{Name: "s" + strconv.Itoa(i+1), Addr: slots[i].HostPort(), Weight: slots[i].Weight})
			continue
		}
		j := i
		for j+1 < len(slots) && slots[j+1].Port == 0 {
			j++
		}
		lines = append(lines, ServerLine{Template: true, From: i + 1, To: j + 1})
		i = j
	}
	return lines
}

// NginxView is what templates/nginx.conf.tmpl lays out: HTTP services only,
// routed by virtual host on Port.
type NginxView struct {
	Port      int
	Upstreams []NginxUpstream
	Servers   []NginxServer
	// Default is the upstream for requests matching no server_name; ""
	// with DefaultEmpty false: 503 "no route"; with DefaultEmpty: the
	// default app has no ready instance (503).
	Default      string
	DefaultEmpty bool
}

// NginxUpstream is one http-mode service with at least one backend.
type NginxUpstream struct {
	Name    string
	Servers []string // ip:port
}

// NginxServer is one virtual host and its locations.
type NginxServer struct {
	Host      string
	Locations []NginxLocation
}

// NginxLocation routes a path prefix to an upstream, or answers 503 when
// the service has no ready instance (Upstream "").
type NginxLocation struct {
	Path     string
	Upstream string
}

// BuildNginxView lays the model out for the nginx template on port. A
// service without ready instances gets no upstream (nginx refuses an empty
// one); its routes answer 503.
func BuildNginxView(m Model, port int) NginxView {
	v := NginxView{Port: port}
	has, empty := map[string]bool{}, map[string]bool{}
	for _, s := range m.Services {
		if s.Mode != "http" {
			continue
		}
		if len(s.Backends) == 0 {
			empty[s.Name] = true
			continue
		}
		u := NginxUpstream{Name: s.Name}
		for _, b := range s.Backends {
			u.Servers = append(u.Servers, b.HostPort())
		}
		v.Upstreams = append(v.Upstreams, u)
		has[s.Name] = true
	}
	if has[m.Default] {
		v.Default = m.Default
	}
	v.DefaultEmpty = empty[m.Default]
	byHost := map[string]*NginxServer{}
	for _, r := range m.Routes {
		if !has[r.Service] && !empty[r.Service] {
			continue
		}
		srv := byHost[r.Host]
		if srv == nil {
			srv = &NginxServer{Host: r.Host}
			byHost[r.Host] = srv
		}
		path := r.Path
		if path == "" {
			path = "/"
		}
		up := r.Service
		if empty[up] {
			up = ""
		}
		if !slices.ContainsFunc(srv.Locations, func(l NginxLocation) bool { return l.Path == path }) {
			srv.Locations = append(srv.Locations, NginxLocation{Path: path, Upstream: up})
		}
	}
	for _, h := range slices.Sorted(maps.Keys(byHost)) {
		srv := byHost[h]
		slices.SortFunc(srv.Locations, func(a, b NginxLocation) int { return cmp.Compare(a.Path, b.Path) })
		v.Servers = append(v.Servers, *srv)
	}
	return v
}
