package devstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berth-platform/berth/agent"
)

// Stack is a running platform. Its methods are safe to call from one
// goroutine at a time (a test, or `berth dev`).
type Stack struct {
	cfg Config

	// Where everything is.
	MasterURL   string   // http://host:port
	ConsulHTTP  string   // host:port
	ConsulDNS   string   // 127.0.0.1:port ("" with an external Consul)
	LBSyncURL   string   // http://host:port (GET /routes)
	AdvertiseIP string   // the address tasks are reached at
	AgentDirs   []string // work dir of each agent (index 0 = agent-1)

	mu        sync.Mutex
	consul    *child
	nginx     *child
	masters   []*child // index 0 listens on Config.Listen; nil entries: stopped
	agents    []*child // nil entries: stopped
	agentIDs  map[string]bool
	registr   *child
	lbsync    *child
	nginxConf string
	stopped   bool
}

// readyTimeout bounds each component's start.
const readyTimeout = 60 * time.Second

// Start checks the ports, starts every component and waits until each is
// ready. On failure everything already started is stopped again.
func Start(ctx context.Context, cfg Config) (*Stack, error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	wd, err := filepath.Abs(cfg.WorkDir)
	if err != nil {
		return nil, fmt.Errorf("work dir %s: %w", cfg.WorkDir, err)
	}
	cfg.WorkDir = wd
	if err := cfg.CheckPorts(); err != nil {
		return nil, err
	}
	if cfg.AdvertiseIP == "" {
		cfg.AdvertiseIP = agent.DetectAdvertiseIP()
	}
	for _, d := range []string{"logs", "master", "agents", "lbsync", "nginx/conf.d", "nginx/tmp"} {
		if err := os.MkdirAll(filepath.Join(wd, d), 0o755); err != nil {
			return nil, fmt.Errorf("work dir: %w", err)
		}
	}
	s := &Stack{cfg: cfg, AdvertiseIP: cfg.AdvertiseIP, agentIDs: map[string]bool{},
		MasterURL: "http://" + cfg.Listen, LBSyncURL: "http://" + cfg.LBSyncListen}
	for i := range cfg.Agents {
		s.AgentDirs = append(s.AgentDirs, filepath.Join(wd, "agents", AgentName(i+1)))
	}
	s.agents = make([]*child, cfg.Agents)
	s.masters = make([]*child, 1+len(cfg.MoreMasters))
	steps := []struct {
		name string
		fn   func(context.Context) (string, error)
	}{
		{"consul", s.startConsul},
		{"nginx", s.startNginx},
		{"master", func(ctx context.Context) (string, error) { return s.StartMaster(ctx, 0) }},
	}
	for i := range cfg.MoreMasters {
		steps = append(steps, struct {
			name string
			fn   func(context.Context) (string, error)
		}{fmt.Sprintf("master-%d", i+2), func(ctx context.Context) (string, error) { return s.StartMaster(ctx, i+1) }})
	}
	for i := range cfg.Agents {
		steps = append(steps, struct {
			name string
			fn   func(context.Context) (string, error)
		}{AgentName(i + 1), func(ctx context.Context) (string, error) { return s.StartAgent(ctx, i+1) }})
	}
	steps = append(steps, []struct {
		name string
		fn   func(context.Context) (string, error)
	}{{"registrator", s.startRegistrator}, {"lbsync", s.startLBSync}}...)
	for _, st := range steps {
		fmt.Fprintf(cfg.Progress, "  %-12s starting … ", st.name)
		t0 := time.Now()
		detail, err := st.fn(ctx)
		if err != nil {
			fmt.Fprintln(cfg.Progress, "FAILED")
			s.Stop(context.Background())
			return nil, err
		}
		fmt.Fprintf(cfg.Progress, "ready in %.1fs  %s\n", time.Since(t0).Seconds(), detail)
	}
	return s, nil
}

func (s *Stack) logPath(name string) string {
	return filepath.Join(s.cfg.WorkDir, "logs", name+".log")
}

// LogsDir is where every component's log file is.
func (s *Stack) LogsDir() string { return filepath.Join(s.cfg.WorkDir, "logs") }

// Config is the configuration the stack runs with (defaults applied).
func (s *Stack) Config() Config { return s.cfg }

func (s *Stack) startConsul(ctx context.Context) (string, error) {
	if s.cfg.ExternalConsul != "" {
		s.ConsulHTTP = strings.TrimPrefix(strings.TrimPrefix(s.cfg.ExternalConsul, "http://"), "https://")
		err := waitHTTP(ctx, 10*time.Second, "http://"+s.ConsulHTTP+"/v1/status/leader", consulHasLeader)
		return "external " + s.ConsulHTTP, err
	}
	p := s.cfg.ConsulPorts
	s.ConsulHTTP = "127.0.0.1:" + strconv.Itoa(p.HTTP)
	s.ConsulDNS = "127.0.0.1:" + strconv.Itoa(p.DNS)
	c, err := startChild("consul", s.logPath("consul"), s.cfg.Consul, "agent", "-dev", "-ui",
		"-node", "berth-dev", "-bind", "127.0.0.1", "-client", "127.0.0.1",
		"-http-port", strconv.Itoa(p.HTTP), "-dns-port", strconv.Itoa(p.DNS),
		"-server-port", strconv.Itoa(p.Server), "-serf-lan-port", strconv.Itoa(p.SerfLAN),
		"-serf-wan-port", strconv.Itoa(p.SerfWAN), "-hcl", "ports { grpc = -1 \n grpc_tls = -1 }",
		"-log-level", "warn")
	if err != nil {
		return "", err
	}
	s.consul = c
	return "http " + s.ConsulHTTP + ", dns " + s.ConsulDNS, c.waitReady(ctx, readyTimeout, func(ctx context.Context) error {
		return getOnce(ctx, "http://"+s.ConsulHTTP+"/v1/status/leader", consulHasLeader)
	})
}

func consulHasLeader(body []byte) error {
	if len(strings.Trim(string(body), "\" \n")) == 0 {
		return errors.New("no leader yet")
	}
	return nil
}

// MasterAddrs are the masters' listen addresses (index 0: Config.Listen).
func (s *Stack) MasterAddrs() []string {
	return append([]string{s.cfg.Listen}, s.cfg.MoreMasters...)
}

// StartMaster starts master i (0-based; again after KillMaster) and waits
// until it answers.
func (s *Stack) StartMaster(ctx context.Context, i int) (string, error) {
	listen := s.MasterAddrs()[i]
	name := "master"
	if i > 0 {
		name = fmt.Sprintf("master-%d", i+1)
	}
	args := []string{s.cfg.Berth, "master", "--listen", listen,
		"--work-dir", filepath.Join(s.cfg.WorkDir, name),
		"--allow-privileged", "--allow-docker-parameters", "--allow-host-volumes", "--lbsync-status", s.LBSyncURL}
	if s.cfg.ZK != "" {
		args = append(args, "--zk", s.cfg.ZK)
	}
	if s.cfg.AgentTimeout > 0 {
		args = append(args, "--agent-timeout", s.cfg.AgentTimeout.String())
	}
	if i == 0 && s.cfg.ChronosListen != "" {
		args = append(args, "--chronos-listen", s.cfg.ChronosListen)
	}
	c, err := startChild(name, s.logPath(name), append(args, s.cfg.MasterArgs...)...)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.masters[i] = c
	s.mu.Unlock()
	return "http://" + listen, c.waitReady(ctx, readyTimeout, func(ctx context.Context) error {
		return getOnce(ctx, "http://"+listen+"/v2/info", nil)
	})
}

// KillMaster kills master i (0-based) with SIGKILL.
func (s *Stack) KillMaster(i int) {
	s.mu.Lock()
	c := s.masters[i]
	s.masters[i] = nil
	s.mu.Unlock()
	if c != nil {
		c.kill()
	}
}

// StartAgent starts agent i (1-based; again after StopAgent) and waits
// until the master lists it as active.
func (s *Stack) StartAgent(ctx context.Context, i int) (string, error) {
	name := AgentName(i)
	lo, hi := AgentPorts(i, s.cfg.Agents)
	master := s.MasterURL
	if s.cfg.ZK != "" {
		master = s.cfg.ZK
	}
	args := []string{s.cfg.Berth, "agent", "--master", master,
		"--listen", "127.0.0.1:" + strconv.Itoa(s.cfg.AgentListen[i-1]),
		"--hostname", name, "--advertise-ip", s.AdvertiseIP,
		"--resources", fmt.Sprintf("ports:[%d-%d]", lo, hi),
		"--work-dir", s.AgentDirs[i-1], "--consul", s.ConsulHTTP}
	if attrs := AgentAttributes(i); attrs != "" {
		args = append(args, "--attributes", attrs)
	}
	c, err := startChild(name, s.logPath(name), append(args, s.cfg.AgentArgs...)...)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.agents[i-1] = c
	s.mu.Unlock()
	err = c.waitReady(ctx, readyTimeout, func(ctx context.Context) error { return s.agentActive(ctx, name) })
	if err == nil {
		s.rememberAgentID(i)
	}
	detail := fmt.Sprintf("ports %d-%d", lo, hi)
	if a := AgentAttributes(i); a != "" {
		detail += ", " + a
	}
	return detail, err
}

// StopAgent stops agent i's process (its tasks keep running, by design).
func (s *Stack) StopAgent(i int) {
	s.mu.Lock()
	c := s.agents[i-1]
	s.agents[i-1] = nil
	s.mu.Unlock()
	if c != nil {
		c.stop(15 * time.Second)
	}
}

// KillAgent is a machine loss: agent i is killed with SIGKILL and its
// tasks (containers and processes) are removed.
func (s *Stack) KillAgent(ctx context.Context, i int) error {
	s.mu.Lock()
	c := s.agents[i-1]
	s.agents[i-1] = nil
	s.mu.Unlock()
	if c != nil {
		c.kill()
	}
	return s.removeTasks(ctx, []string{s.AgentDirs[i-1]})
}

// AgentID is agent i's id as the master knows it ("" before it registered).
func (s *Stack) AgentID(i int) string {
	return readAgentID(s.AgentDirs[i-1])
}

func (s *Stack) rememberAgentID(i int) {
	if id := readAgentID(s.AgentDirs[i-1]); id != "" {
		s.mu.Lock()
		s.agentIDs[id] = true
		s.mu.Unlock()
	}
}

func (s *Stack) startRegistrator(ctx context.Context) (string, error) {
	args := []string{s.cfg.Berth, "registrator", "-consul", s.ConsulHTTP, "-ip", s.AdvertiseIP, "-cleanup"}
	for _, p := range s.cfg.AgentListen {
		// the agents' process tasks are registered from their task lists
		args = append(args, "-agent", "http://127.0.0.1:"+strconv.Itoa(p))
	}
	if s.cfg.StackTag != "" {
		args = append(args, "-tags", s.stackTagTemplate())
	}
	c, err := startChild("registrator", s.logPath("registrator"), args...)
	if err != nil {
		return "", err
	}
	s.registr = c
	return "-ip " + s.AdvertiseIP, c.waitReady(ctx, readyTimeout, func(context.Context) error {
		b, _ := os.ReadFile(c.logPath)
		if !strings.Contains(string(b), "registrator starting") {
			return errors.New("not started yet")
		}
		return nil
	})
}

func (s *Stack) startLBSync(ctx context.Context) (string, error) {
	wd := filepath.Join(s.cfg.WorkDir, "lbsync")
	args := []string{s.cfg.Berth, "lbsync", "--consul", s.ConsulHTTP, "--work-dir", wd,
		"--haproxy-binary", s.cfg.HAProxy, "--http-port", strconv.Itoa(s.cfg.HTTPPort),
		"--haproxy-stats-port", strconv.Itoa(s.cfg.StatsPort), "--listen", s.cfg.LBSyncListen,
		"--nginx-check", s.nginxCmd("-t -q"),
		// The master's apps decide which app owns a servicePort, and its
		// cluster id which instances are routed.
		"--master", s.MasterURL}
	if s.cfg.StackTag != "" {
		args = append(args, "--consul-tag", s.cfg.StackTag)
	}
	if s.cfg.ClassicTemplate != "" {
		tmpl, err := s.classicTemplate()
		if err != nil {
			return "", err
		}
		args = append(args, "--nginx-template",
			tmpl+":"+filepath.Join(s.cfg.WorkDir, "nginx", "conf.d", "classic.conf")+":"+s.nginxCmd("-s reload"))
	}
	c, err := startChild("lbsync", s.logPath("lbsync"), args...)
	if err != nil {
		return "", err
	}
	s.lbsync = c
	detail := fmt.Sprintf("HAProxy :%d, stats :%d", s.cfg.HTTPPort, s.cfg.StatsPort)
	return detail, c.waitReady(ctx, readyTimeout, func(ctx context.Context) error {
		if err := getOnce(ctx, s.LBSyncURL+"/routes", lastRendered); err != nil {
			return err
		}
		return dialOnce(ctx, net.JoinHostPort("127.0.0.1", strconv.Itoa(s.cfg.HTTPPort)))
	})
}

// stackTagTemplate is the registrator's -tags template that adds StackTag
// to the services of containers started by this stack's agents.
func (s *Stack) stackTagTemplate() string {
	s.mu.Lock()
	var conds []string
	for id := range s.agentIDs {
		conds = append(conds, fmt.Sprintf("(eq . %q)", id))
	}
	s.mu.Unlock()
	if len(conds) == 0 {
		return ""
	}
	return fmt.Sprintf(`{{with index .Config.Labels "berth.agent-id"}}{{if or %s}}%s{{end}}{{end}}`,
		strings.Join(conds, " "), s.cfg.StackTag)
}

func lastRendered(body []byte) error {
	if !strings.Contains(string(body), `"lastRender"`) {
		return errors.New("no HAProxy config rendered yet")
	}
	return nil
}
