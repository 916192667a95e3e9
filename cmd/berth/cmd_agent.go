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
	"path/filepath"
	"strings"
	"time"

	"github.com/docker/docker/client"
	consul "github.com/hashicorp/consul/api"

	"github.com/berth-platform/berth/agent"
	"github.com/berth-platform/berth/placement/zkstore"
)

func agentCommand() command {
	return command{
		name:    "agent",
		summary: "run the tasks the master places on this node (Docker containers or processes)",
		run:     runAgent,
	}
}

type agentFlags struct {
	master, listen, hostname, advertiseIP, attributes, resources string
	workDir, containerizers, consul, secret, roles               string
	// orphanGrace and retainExited are --orphan-grace and --retain-exited.
	orphanGrace, retainExited time.Duration
}

// parsed is what Validate derives from the flags.
type agentParsed struct {
	attrs    map[string]string
	res      agent.ParsedResources
	runtimes []string
}

func (f agentFlags) Validate() (agentParsed, error) {
	var p agentParsed
	var err error
	if strings.HasPrefix(f.master, "zk://") {
		if _, err := zkstore.ParseURL(f.master); err != nil {
			return p, fmt.Errorf("--master: %v", err)
		}
	} else if !strings.HasPrefix(f.master, "http://") && !strings.HasPrefix(f.master, "https://") {
		return p, fmt.Errorf("--master %q: want http://host:port or zk://host:2181[,host…]/berth", f.master)
	}
	if _, _, err := net.SplitHostPort(f.listen); err != nil {
		return p, fmt.Errorf("--listen %q: %v", f.listen, err)
	}
	if f.advertiseIP != "" && net.ParseIP(f.advertiseIP) == nil {
		return p, fmt.Errorf("--advertise-ip %q: not an IP address", f.advertiseIP)
	}
	if p.attrs, err = agent.ParseAttributes(f.attributes); err != nil {
		return p, fmt.Errorf("--attributes: %v", err)
	}
	if p.res, err = agent.ParseResources(f.resources); err != nil {
		return p, fmt.Errorf("--resources: %v", err)
	}
	for _, c := range strings.Split(f.containerizers, ",") {
		c = strings.TrimSpace(c)
		if c != agent.RuntimeDocker && c != agent.RuntimeProcess {
			return p, fmt.Errorf("--containerizers: unknown %q (want docker, process)", c)
		}
		p.runtimes = append(p.runtimes, c)
	}
	if f.workDir == "" {
		return p, errors.New("--work-dir must not be empty")
	}
	if f.orphanGrace < 0 {
		return p, fmt.Errorf("--orphan-grace %s: want a duration >= 0", f.orphanGrace)
	}
	if f.retainExited < 0 {
		return p, fmt.Errorf("--retain-exited %s: want a duration >= 0", f.retainExited)
	}
	return p, nil
}

func runAgent(ctx context.Context, args []string, _, stderr io.Writer) int {
	fs := flag.NewFlagSet("berth agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f agentFlags
	host, _ := os.Hostname()
	fs.StringVar(&f.master, "master", "http://127.0.0.1:8080", "the master's URL, or zk://host:2181[,host…]/berth to follow the leader of a ZooKeeper group")
	fs.StringVar(&f.listen, "listen", "127.0.0.1:5051", "address of the agent's HTTP API (logs, state)")
	fs.StringVar(&f.hostname, "hostname", host, "hostname reported to the master and given to tasks as $HOST")
	fs.StringVar(&f.advertiseIP, "advertise-ip", "", "IP address tasks are reached at (default: first non-loopback IPv4)")
	fs.StringVar(&f.attributes, "attributes", "", `attributes for constraints, "rack:r1;zone:z1"`)
	fs.StringVar(&f.roles, "roles", "*", `resource roles the agent's resources are offered to, "slave_public" or "*,ops" (apps pick them with acceptedResourceRoles)`)
	fs.StringVar(&f.resources, "resources", "", `offered resources, "cpus:N;mem:MiB;disk:MiB;ports:[31000-32000]" (unset ones detected)`)
	fs.StringVar(&f.workDir, "work-dir", "./berth-data/agent", "directory for the agent's id, task records, status journal and sandboxes")
	fs.StringVar(&f.containerizers, "containerizers", "docker,process", "enabled containerizers")
	fs.StringVar(&f.consul, "consul", envOr("CONSUL_HTTP_ADDR", "127.0.0.1:8500"), `Consul agent used to drain tasks before a kill ("" disables draining)`)
	fs.StringVar(&f.secret, "agent-secret", os.Getenv("BERTH_AGENT_SECRET"), "shared secret presented to the master and required from callers of this agent's API (the master, the registrator)")
	fs.DurationVar(&f.orphanGrace, "orphan-grace", agentDefaultOrphanGrace, "how long a task of this cluster that the master does not know keeps running before the agent stops it")
	fs.DurationVar(&f.retainExited, "retain-exited", agentDefaultRetainExited, "how long an exited task's container or sandbox (and logs) is kept before removal (Mesos' docker_remove_delay)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	p, err := f.Validate()
	if err != nil {
		fmt.Fprintf(stderr, "berth agent: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	var zm *agent.ZKMaster
	if strings.HasPrefix(f.master, "zk://") {
		if zm, err = agent.NewZKMaster(agent.ZKMasterConfig{URL: f.master, Secret: f.secret, Logger: log}); err != nil {
			fmt.Fprintf(stderr, "berth agent: %v\n", err)
			return 1
		}
	}
	a, err := buildAgent(f, p, zm, log)
	if err != nil {
		fmt.Fprintf(stderr, "berth agent: %v\n", err)
		return 1
	}
	if err := runAgentWith(ctx, a, zm); err != nil {
		fmt.Fprintf(stderr, "berth agent: %v\n", err)
		return 1
	}
	return 0
}

// runAgentWith runs the agent and, for zk://, the observer that follows
// the leader, until ctx ends (or the observer fails).
func runAgentWith(ctx context.Context, a *agent.Agent, zm *agent.ZKMaster) error {
	if zm == nil {
		return a.Run(ctx)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	obsDone := make(chan error, 1)
	go func() {
		err := zm.Run(ctx)
		if err != nil {
			err = fmt.Errorf("following the leader in ZooKeeper: %w", err)
		}
		obsDone <- err
		cancel() // without the observer the agent cannot find its master
	}()
	err := a.Run(ctx)
	cancel()
	if obsErr := <-obsDone; obsErr != nil && err == nil {
		err = obsErr
	}
	return err
}

func buildAgent(f agentFlags, p agentParsed, zm *agent.ZKMaster, log *slog.Logger) (*agent.Agent, error) {
	if err := os.MkdirAll(f.workDir, 0o755); err != nil {
		return nil, fmt.Errorf("work dir: %w", err)
	}
	var master agent.Master = zm
	if zm == nil {
		hm, err := agent.NewHTTPMaster(agent.HTTPMasterConfig{URL: f.master, Secret: f.secret})
		if err != nil {
			return nil, err
		}
		master = hm
	}
	runtimes := map[string]agent.Runtime{}
	for _, name := range p.runtimes {
		switch name {
		case agent.RuntimeDocker:
			cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
			if err != nil {
				return nil, fmt.Errorf("docker client: %w", err)
			}
			runtimes[name] = agent.NewDockerRuntime(agent.DockerConfig{Client: cli, Logger: log,
				SandboxDir: filepath.Join(f.workDir, "docker")})
		case agent.RuntimeProcess:
			pr, err := agent.NewProcessRuntime(agent.ProcessConfig{Dir: filepath.Join(f.workDir, "process"), Logger: log})
			if err != nil {
				return nil, err
			}
			runtimes[name] = pr
		}
	}
	var drainer agent.Drainer
	if f.consul != "" {
		cc := consul.DefaultConfig()
		cc.Address = f.consul
		cli, err := consul.NewClient(cc)
		if err != nil {
			return nil, fmt.Errorf("consul client %s: %w", f.consul, err)
		}
		drainer = agent.NewConsulDrainer(agent.ConsulDrainerConfig{Client: cli})
	}
	advertise := f.advertiseIP
	if advertise == "" {
		advertise = agent.DetectAdvertiseIP()
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", f.listen, err)
	}
	og, re := agentDurations(f)
	a, err := agent.New(agent.Config{
		Master: master, MasterURL: f.master, Hostname: f.hostname, AdvertiseIP: advertise,
		Listener: ln, Attributes: p.attrs, Resources: p.res.Complete(agent.DetectHost(f.workDir)),
		WorkDir: f.workDir, Runtimes: runtimes, Drainer: drainer, Logger: log,
		OrphanGrace: og, RetainExited: re, Secret: f.secret, Roles: splitRoles(f.roles),
	})
	if err != nil {
		ln.Close()
		return nil, err
	}
	return a, nil
}

// The agent's defaults: Mesos keeps exited Docker containers 6 h
// (docker_remove_delay) and gives unknown executors a minute.
const (
	agentDefaultOrphanGrace  = time.Minute
	agentDefaultRetainExited = 6 * time.Hour
)

// agentDurations maps the duration flags onto the agent's config, where 0
// means "the default": a flag of 0 keeps nothing (1 ns) or kills orphans at
// once (1 ns) instead.
func agentDurations(f agentFlags) (orphanGrace, retainExited time.Duration) {
	return max(f.orphanGrace, time.Nanosecond), max(f.retainExited, time.Nanosecond)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// splitRoles parses --roles ("*", "slave_public", "*,ops").
func splitRoles(s string) []string {
	var out []string
	for _, r := range strings.Split(s, ",") {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, r)
		}
	}
	return out
}
