package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"text/template"
	"time"

	"github.com/berth-platform/berth/registrator"
	"github.com/berth-platform/berth/registrator/agentapi"
	regconsul "github.com/berth-platform/berth/registrator/consul"
	regdocker "github.com/berth-platform/berth/registrator/docker"
	"github.com/docker/docker/client"
)

func registratorCommand() command {
	return command{
		name:    "registrator",
		summary: "register this host's Docker containers as Consul services (gliderlabs/registrator compatible)",
		run:     runRegistrator,
	}
}

// registratorFlags are gliderlabs/registrator's flags plus Berth's few.
type registratorFlags struct {
	consul         string
	hostname       string
	ip             string
	internal       bool
	explicit       bool
	useIPFromLabel string
	tags           string
	resync         int // seconds
	cleanup        bool
	deregister     string
	retryAttempts  int
	retryInterval  int // milliseconds
	ttl, ttlRefr   int // accepted for compatibility; no-op for Consul
	antiEntropy    time.Duration
	logLevel       string
	agents         stringList // --agent URL, repeatable
	clusterID      string
	agentSecret    string
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// defaultRegistratorFlags are the flags' defaults; `berth dev` can start
// from them, adjust (consul, ip, cleanup) and call registratorMain.
func defaultRegistratorFlags() registratorFlags {
	host, _ := os.Hostname()
	consul := os.Getenv("CONSUL_HTTP_ADDR")
	if consul == "" {
		consul = "127.0.0.1:8500"
	}
	return registratorFlags{
		consul:        consul,
		hostname:      host,
		deregister:    registrator.DeregisterAlways,
		retryAttempts: -1,
		retryInterval: 2000,
		antiEntropy:   2 * time.Second,
		logLevel:      "info",
	}
}

func (f registratorFlags) Validate() error {
	var errs []error
	if f.deregister != registrator.DeregisterAlways && f.deregister != registrator.DeregisterOnSuccess {
		errs = append(errs, fmt.Errorf("-deregister %q: want always or on-success", f.deregister))
	}
	if f.resync < 0 {
		errs = append(errs, fmt.Errorf("-resync %d: want seconds >= 0", f.resync))
	}
	if f.retryAttempts < -1 {
		errs = append(errs, fmt.Errorf("-retry-attempts %d: want -1 (forever) or more", f.retryAttempts))
	}
	if f.retryInterval <= 0 {
		errs = append(errs, fmt.Errorf("-retry-interval %d: want milliseconds > 0", f.retryInterval))
	}
	if (f.ttl == 0) != (f.ttlRefr == 0) || (f.ttl != 0 && f.ttl <= f.ttlRefr) {
		errs = append(errs, fmt.Errorf("-ttl %d and -ttl-refresh %d: set both, with -ttl greater", f.ttl, f.ttlRefr))
	}
	if f.ip != "" && net.ParseIP(f.ip) == nil {
		errs = append(errs, fmt.Errorf("-ip %q: not an IP address", f.ip))
	}
	if strings.Contains(f.tags, "{{") {
		if _, err := registrator.ParseTagsTemplate(f.tags); err != nil {
			errs = append(errs, err)
		}
	}
	for _, u := range f.agents {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			errs = append(errs, fmt.Errorf("-agent %q: want http://host:port", u))
		}
	}
	if _, err := registratorLogLevel(f.logLevel); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func runRegistrator(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("berth registrator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: berth registrator [flags] [consul://host:port]")
		fs.PrintDefaults()
	}
	f := defaultRegistratorFlags()
	fs.StringVar(&f.consul, "consul", f.consul, "Consul agent address (host:port, http(s)://, consul://, consul-tls://, consul-unix://); token from CONSUL_HTTP_TOKEN")
	fs.StringVar(&f.hostname, "hostname", f.hostname, "hostname used in service IDs and as the owner marker")
	fs.StringVar(&f.ip, "ip", f.ip, "IP for ports mapped to the host (default: the hostname's address)")
	fs.BoolVar(&f.internal, "internal", f.internal, "use the container IP and exposed port instead of the host's")
	fs.BoolVar(&f.explicit, "explicit", f.explicit, "only register containers that set SERVICE_NAME")
	fs.StringVar(&f.useIPFromLabel, "useIpFromLabel", f.useIPFromLabel, "take the service IP from this container label")
	fs.StringVar(&f.tags, "tags", f.tags, "comma-separated tags appended to every service (Go template over docker inspect allowed)")
	fs.IntVar(&f.resync, "resync", f.resync, "seconds between full resyncs with Docker (0 = never)")
	fs.BoolVar(&f.cleanup, "cleanup", f.cleanup, "remove dangling services this registrator registered in earlier runs")
	fs.StringVar(&f.deregister, "deregister", f.deregister, "deregister exited containers: always or on-success")
	fs.IntVar(&f.retryAttempts, "retry-attempts", f.retryAttempts, "startup attempts to reach Consul after the first (-1 = forever)")
	fs.IntVar(&f.retryInterval, "retry-interval", f.retryInterval, "milliseconds between startup attempts")
	fs.IntVar(&f.ttl, "ttl", f.ttl, "accepted for compatibility; no effect with Consul")
	fs.IntVar(&f.ttlRefr, "ttl-refresh", f.ttlRefr, "accepted for compatibility; no effect with Consul")
	fs.DurationVar(&f.antiEntropy, "anti-entropy", f.antiEntropy, "how often Consul's services are checked and repaired (negative = never)")
	fs.StringVar(&f.logLevel, "log-level", f.logLevel, "debug, info, warn or error")
	fs.Var(&f.agents, "agent", "a Berth agent's API URL (repeatable): its process tasks are registered like containers")
	fs.StringVar(&f.clusterID, "cluster-id", f.clusterID, "register only this cluster's Berth tasks (default: learned from the --agent task lists; unset with no agents = all)")
	fs.StringVar(&f.agentSecret, "agent-secret", os.Getenv("BERTH_AGENT_SECRET"), "the agents' --agent-secret, sent to their API (env BERTH_AGENT_SECRET)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	switch fs.NArg() {
	case 0:
	case 1:
		f.consul = fs.Arg(0) // registrator's positional registry URI
	default:
		fmt.Fprintf(stderr, "berth registrator: one registry URI at most, got %q\n", fs.Args())
		return 2
	}
	if err := f.Validate(); err != nil {
		fmt.Fprintf(stderr, "berth registrator: %v\n", err)
		return 2
	}
	level, _ := registratorLogLevel(f.logLevel)
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if err := registratorMain(ctx, f, log); err != nil {
		fmt.Fprintf(stderr, "berth registrator: %v\n", err)
		return 1
	}
	return 0
}

// registratorMain builds the registrator from validated flags and runs it
// until ctx ends.
func registratorMain(ctx context.Context, f registratorFlags, log *slog.Logger) error {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return fmt.Errorf("docker client: %w", err)
	}
	defer cli.Close()
	src, err := regdocker.New(regdocker.Config{Client: cli})
	if err != nil {
		return err
	}
	reg, err := regconsul.New(regconsul.Config{Address: f.consul, Token: os.Getenv("CONSUL_HTTP_TOKEN")})
	if err != nil {
		return err
	}
	if f.ttl != 0 {
		log.Warn("-ttl and -ttl-refresh have no effect with Consul (as in registrator)")
	}
	var tagsTemplate *template.Template
	if strings.Contains(f.tags, "{{") {
		if tagsTemplate, err = registrator.ParseTagsTemplate(f.tags); err != nil {
			return err
		}
	}
	hostIP := registratorHostIP(f.hostname)
	if f.ip == "" && !f.internal && (hostIP == "" || net.ParseIP(hostIP).IsLoopback()) {
		log.Warn("ports mapped to the host are registered with a loopback or unknown address; set -ip", "hostname", f.hostname, "resolves_to", hostIP)
	}
	r, err := registrator.New(registrator.Config{
		Docker:   src,
		Registry: reg,
		Logger:   log,
		Naming: registrator.Options{
			Hostname: f.hostname, HostIP: hostIP, ForceIP: f.ip, Internal: f.internal,
			Explicit: f.explicit, UseIPFromLabel: f.useIPFromLabel, Tags: f.tags, TagsTemplate: tagsTemplate,
			ClusterID: f.clusterID,
		},
		AgentURLs:     f.agents,
		Agents:        agentapi.Client{Secret: f.agentSecret},
		Cleanup:       f.cleanup,
		Deregister:    f.deregister,
		Resync:        time.Duration(f.resync) * time.Second,
		AntiEntropy:   f.antiEntropy,
		RetryAttempts: f.retryAttempts,
		RetryInterval: time.Duration(f.retryInterval) * time.Millisecond,
	})
	if err != nil {
		return err
	}
	log.Info("registrator starting", "consul", f.consul, "hostname", f.hostname, "host_ip", hostIP, "agents", len(f.agents), "cluster", f.clusterID)
	return r.Run(ctx)
}

// registratorHostIP is registrator's host address: what the hostname resolves to,
// preferring IPv4; "" when it does not resolve.
func registratorHostIP(hostname string) string {
	ips, err := net.LookupIP(hostname)
	if err != nil || len(ips) == 0 {
		return ""
	}
	for _, ip := range ips {
		if ip.To4() != nil {
			return ip.String()
		}
	}
	return ips[0].String()
}

func registratorLogLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("-log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}
