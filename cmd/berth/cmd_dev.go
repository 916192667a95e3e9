package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/berth-platform/berth/internal/devstack"
)

func devCommand() command {
	return command{
		name:    "dev",
		summary: "run the whole platform on this machine (Ctrl-C stops everything)",
		run:     runDev,
	}
}

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("berth dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg devstack.Config
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:8080", "address of the master's API")
	fs.IntVar(&cfg.Agents, "agents", 3, "number of agents (agent-1 without rack, agent-2… with rack:rack-1…)")
	fs.StringVar(&cfg.ZK, "zk", "", "ZooKeeper URL zk://host:2181/berth for the master's state (empty: embedded store)")
	fs.IntVar(&cfg.HTTPPort, "http-port", 80, "HAProxy's virtual-host frontend port")
	fs.IntVar(&cfg.StatsPort, "haproxy-stats-port", 9090, "HAProxy stats page port")
	fs.StringVar(&cfg.LBSyncListen, "lbsync-listen", "127.0.0.1:9091", "lbsync status address (berth routes)")
	fs.StringVar(&cfg.ChronosListen, "chronos-listen", "127.0.0.1:4400", "the master's Chronos API address (\"\" = none)")
	fs.StringVar(&cfg.WorkDir, "work-dir", "./berth-data/dev", "directory for logs, state and rendered configs")
	fs.StringVar(&cfg.Consul, "consul-bin", besideSelf("consul"), "Consul binary for the dev agent")
	fs.IntVar(&cfg.ConsulPorts.HTTP, "consul-http-port", 8500, "the Consul dev agent's HTTP port")
	fs.IntVar(&cfg.ConsulPorts.DNS, "consul-dns-port", 8600, "the Consul dev agent's DNS port")
	fs.IntVar(&cfg.ConsulPorts.Server, "consul-server-port", 8300, "the Consul dev agent's server RPC port")
	fs.IntVar(&cfg.ConsulPorts.SerfLAN, "consul-serf-lan-port", 8301, "the Consul dev agent's serf LAN port")
	fs.IntVar(&cfg.ConsulPorts.SerfWAN, "consul-serf-wan-port", 8302, "the Consul dev agent's serf WAN port")
	agentPorts := fs.String("agent-api-ports", "", "comma-separated API ports of the agents on 127.0.0.1 (default 5051, 5052, …)")
	fs.IntVar(&cfg.ClassicPort, "nginx-port", 8085, "port nginx serves the classic template on (its \"listen 8085;\" is rewritten)")
	fs.StringVar(&cfg.HAProxy, "haproxy-bin", lookPathOr("haproxy"), "HAProxy binary")
	fs.StringVar(&cfg.Nginx, "nginx-bin", lookPathOr("nginx", "/usr/sbin/nginx"), "nginx binary")
	fs.StringVar(&cfg.ClassicTemplate, "nginx-template", "examples/nginx/nginx.ctmpl", "classic consul-template nginx template (\"\" = none)")
	fs.StringVar(&cfg.AdvertiseIP, "advertise-ip", "", "address tasks are reached at (default: first non-loopback IPv4)")
	fs.DurationVar(&cfg.AgentTimeout, "agent-timeout", 0, "the master's --agent-timeout (0: the master's default)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "berth dev: unexpected arguments %q\n", fs.Args())
		return 2
	}
	cfg.ExternalConsul = os.Getenv("CONSUL_HTTP_ADDR")
	for _, p := range strings.Split(*agentPorts, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			fmt.Fprintf(stderr, "berth dev: --agent-api-ports: %q is not a port\n", p)
			return 2
		}
		cfg.AgentListen = append(cfg.AgentListen, n)
	}
	if exe, err := os.Executable(); err == nil {
		cfg.Berth = exe
	}
	if cfg.ClassicTemplate != "" {
		if _, err := os.Stat(cfg.ClassicTemplate); err != nil {
			if flagSet(fs, "nginx-template") {
				fmt.Fprintf(stderr, "berth dev: --nginx-template: %v\n", err)
				return 2
			}
			fmt.Fprintf(stdout, "note: %s not found (not run from the repository?); nginx runs without the classic template\n", cfg.ClassicTemplate)
			cfg.ClassicTemplate = ""
		}
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	if err := devstack.Run(ctx, cfg, stdout); err != nil {
		fmt.Fprintf(stderr, "berth dev: %v\n", err)
		return 1
	}
	return 0
}

// flagSet reports whether the flag was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// besideSelf is bin/<name> beside the berth binary, else <name> on PATH.
func besideSelf(name string) string {
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return lookPathOr(name)
}

// lookPathOr is name on PATH, else the first fallback that exists, else name.
func lookPathOr(name string, fallbacks ...string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, f := range fallbacks {
		if _, err := os.Stat(f); err == nil {
			return f
		}
	}
	return name
}
