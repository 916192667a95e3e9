package devstack

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"time"
)

// Config is the whole stack. Zero ports take the defaults of `berth dev`
// (see Defaults); tests set every port to a free one.
type Config struct {
	Berth, Consul, HAProxy, Nginx string // binaries

	WorkDir string // logs, state, rendered configs (made absolute)

	Listen string // master API, host:port
	ZK     string // zk://… for the master(s) and agents; "" = embedded store
	// MoreMasters are the listen addresses of further masters sharing ZK
	// (leader election; standbys forward to the leader). Needs ZK.
	MoreMasters  []string
	AgentTimeout time.Duration // master --agent-timeout; 0 = the master's default

	Agents      int    // number of agents (1…10)
	AgentListen []int  // agents' API ports on 127.0.0.1; len = Agents (default 5051…)
	AdvertiseIP string // address agents and the registrator advertise ("" = detected)

	// ExternalConsul is the HTTP address of a Consul agent already running
	// (CONSUL_HTTP_ADDR); empty starts a dev agent on ConsulPorts.
	ExternalConsul string
	ConsulPorts    ConsulPorts

	HTTPPort     int    // HAProxy's virtual-host frontend
	StatsPort    int    // HAProxy stats page
	LBSyncListen string // lbsync status address (berth routes)
	// ChronosListen is the first master's --chronos-listen ("" = none).
	ChronosListen string

	// ClassicTemplate is the consul-template nginx template (examples/nginx/
	// nginx.ctmpl); "" = none. Its "listen 8085;" becomes ClassicPort.
	ClassicTemplate string
	ClassicPort     int

	// StackTag, when set, isolates this stack from other Berth containers
	// on the same Docker engine (tests running side by side): the
	// registrator tags only this stack's agents' services with it, and
	// lbsync routes only services carrying it. Empty: every Berth container
	// on the host is routed, as a lone `berth dev` wants.
	StackTag string

	MasterArgs []string // extra flags for every master
	AgentArgs  []string // extra flags for every agent

	Progress io.Writer // one line per component while starting; nil = discard
	Logger   *slog.Logger
}

// ConsulPorts are the dev agent's ports.
type ConsulPorts struct {
	HTTP, DNS, Server, SerfLAN, SerfWAN int
}

// Defaults fills unset fields with `berth dev`'s defaults.
func (c *Config) Defaults() {
	setStr := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	setInt := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	setStr(&c.WorkDir, "./berth-data/dev")
	setStr(&c.Listen, "127.0.0.1:8080")
	setStr(&c.LBSyncListen, "127.0.0.1:9091")
	setInt(&c.Agents, 3)
	setInt(&c.HTTPPort, 80)
	setInt(&c.StatsPort, 9090)
	setInt(&c.ClassicPort, 8085)
	setInt(&c.ConsulPorts.HTTP, 8500)
	setInt(&c.ConsulPorts.DNS, 8600)
	setInt(&c.ConsulPorts.Server, 8300)
	setInt(&c.ConsulPorts.SerfLAN, 8301)
	setInt(&c.ConsulPorts.SerfWAN, 8302)
	if len(c.AgentListen) == 0 {
		for i := range c.Agents {
			c.AgentListen = append(c.AgentListen, 5051+i)
		}
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate checks the configuration (after Defaults).
func (c Config) Validate() error {
	var errs []error
	if c.Agents < 1 || c.Agents > MaxAgents {
		errs = append(errs, fmt.Errorf("--agents %d: want 1…%d", c.Agents, MaxAgents))
	}
	if len(c.AgentListen) != c.Agents {
		errs = append(errs, fmt.Errorf("%d agent ports for %d agents", len(c.AgentListen), c.Agents))
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("--listen %q: %v", c.Listen, err))
	}
	if c.Berth == "" || c.HAProxy == "" || c.Nginx == "" || (c.Consul == "" && c.ExternalConsul == "") {
		errs = append(errs, errors.New("the berth, haproxy, nginx and consul binaries must be known"))
	}
	if len(c.MoreMasters) > 0 && c.ZK == "" {
		errs = append(errs, errors.New("more than one master needs --zk"))
	}
	if c.AdvertiseIP != "" && net.ParseIP(c.AdvertiseIP) == nil {
		errs = append(errs, fmt.Errorf("advertise IP %q is not an IP address", c.AdvertiseIP))
	}
	for _, p := range []int{c.HTTPPort, c.StatsPort, c.ClassicPort} {
		if p < 1 || p > 65535 {
			errs = append(errs, fmt.Errorf("port %d: not a port", p))
		}
	}
	return errors.Join(errs...)
}

// MaxAgents bounds --agents: the agents' host-port ranges are carved out of
// 31000–32767, below the kernel's ephemeral range.
const MaxAgents = 10

// AgentName is the hostname of agent i (1-based).
func AgentName(i int) string { return "agent-" + strconv.Itoa(i) }

// AgentAttributes are agent i's attributes: agent-1 has none, the others
// rack:rack-<i-1> (the examples rely on exactly this).
func AgentAttributes(i int) string {
	if i == 1 {
		return ""
	}
	return fmt.Sprintf("rack:rack-%d", i-1)
}

// AgentPorts is agent i's host-port range of n agents: disjoint slices of
// 31000–32767 in steps of 100, agent-1 first (so it owns 31030).
func AgentPorts(i, n int) (lo, hi int) {
	width := (1768 / n) / 100 * 100
	if width > 1000 {
		width = 1000
	}
	lo = 31000 + width*(i-1)
	return lo, lo + width - 1
}

// portClaim is one port the stack needs, for the check before starting.
type portClaim struct {
	addr, network, what string
}

// claims lists every port the stack will bind.
func (c Config) claims() []portClaim {
	var out []portClaim
	add := func(host string, port int, network, what string) {
		out = append(out, portClaim{net.JoinHostPort(host, strconv.Itoa(port)), network, what})
	}
	out = append(out, portClaim{c.Listen, "tcp", "master API, --listen"})
	for _, m := range c.MoreMasters {
		out = append(out, portClaim{m, "tcp", "another master's API"})
	}
	for i, p := range c.AgentListen {
		add("127.0.0.1", p, "tcp", AgentName(i+1)+" API")
	}
	if c.ExternalConsul == "" {
		add("127.0.0.1", c.ConsulPorts.HTTP, "tcp", "Consul HTTP")
		add("127.0.0.1", c.ConsulPorts.DNS, "tcp", "Consul DNS")
		add("127.0.0.1", c.ConsulPorts.DNS, "udp", "Consul DNS")
		add("127.0.0.1", c.ConsulPorts.Server, "tcp", "Consul server RPC")
		add("127.0.0.1", c.ConsulPorts.SerfLAN, "tcp", "Consul serf LAN")
		add("127.0.0.1", c.ConsulPorts.SerfWAN, "tcp", "Consul serf WAN")
	}
	add("", c.HTTPPort, "tcp", "HAProxy HTTP frontend, --http-port")
	add("", c.StatsPort, "tcp", "HAProxy stats")
	out = append(out, portClaim{c.LBSyncListen, "tcp", "lbsync status, berth routes"})
	if c.ChronosListen != "" {
		out = append(out, portClaim{c.ChronosListen, "tcp", "the master's Chronos API, --chronos-listen"})
	}
	if c.ClassicTemplate != "" {
		add("", c.ClassicPort, "tcp", "nginx, classic consul-template example")
	}
	return out
}

// CheckPorts fails, naming the port and its role, when one is taken.
func (c Config) CheckPorts() error {
	for _, cl := range c.claims() {
		if err := portFree(cl.network, cl.addr); err != nil {
			return fmt.Errorf("port %s (%s) is already in use — is another `berth dev` running? (%v)", cl.addr, cl.what, err)
		}
	}
	return nil
}

func portFree(network, addr string) error {
	if network == "udp" {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return err
		}
		return pc.Close()
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return l.Close()
}
