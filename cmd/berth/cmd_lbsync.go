package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/berth-platform/berth/lbsync"
	"github.com/berth-platform/berth/lbsync/haproxy"
)

func lbsyncCommand() command {
	return command{
		name:    "lbsync",
		summary: "keep HAProxy (servicePorts, :80 vhosts) and nginx templates in sync with Consul",
		run:     runLBSync,
	}
}

// lbsyncFlags are berth lbsync's flags.
type lbsyncFlags struct {
	consul, consulTag, workDir                  string
	haproxyConfig, haproxySocket, masterSocket  string
	stateFile, haproxyTemplate, haproxyBinary   string
	bind, group, wait, listen, nginxCheck       string
	nginxBuiltin, master, clusterID, masterCred string
	statusCred                                  string
	httpPort, statsPort, nginxPort              int
	strictMode                                  bool
	nginxTemplates                              multiFlag
	waitMin, waitMax                            time.Duration
	templateSpecs                               []lbsync.TemplateSpec
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func parseLBSyncFlags(args []string, stderr io.Writer) (*lbsyncFlags, error) {
	f := &lbsyncFlags{}
	fs := flag.NewFlagSet("lbsync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.consul, "consul", "", "Consul HTTP address (default $CONSUL_HTTP_ADDR or 127.0.0.1:8500; token from $CONSUL_HTTP_TOKEN)")
	fs.StringVar(&f.consulTag, "consul-tag", "berth", "watch only Consul services with this tag (\"\" = all)")
	fs.StringVar(&f.workDir, "work-dir", "./berth-data/lbsync", "directory for the HAProxy files whose paths are not given")
	fs.StringVar(&f.haproxyConfig, "haproxy-config", "", "live haproxy.cfg (default <work-dir>/haproxy.cfg)")
	fs.StringVar(&f.haproxySocket, "haproxy-socket", "", "HAProxy Runtime API socket (default <work-dir>/haproxy.sock)")
	fs.StringVar(&f.masterSocket, "haproxy-master-socket", "", "HAProxy master CLI socket (default haproxy-master.sock next to --haproxy-socket, else <work-dir>/haproxy-master.sock)")
	fs.StringVar(&f.stateFile, "haproxy-state-file", "", "server-state-file (default haproxy.state next to --haproxy-config, else <work-dir>/haproxy.state)")
	fs.StringVar(&f.haproxyTemplate, "haproxy-template", "", "template replacing the built-in templates/haproxy.cfg.tmpl")
	fs.StringVar(&f.haproxyBinary, "haproxy-binary", "haproxy", "haproxy executable")
	fs.StringVar(&f.bind, "bind", "", "address HAProxy's frontends bind (default all)")
	fs.IntVar(&f.httpPort, "http-port", 80, "port of the virtual-host frontend")
	fs.IntVar(&f.statsPort, "haproxy-stats-port", 9090, "HAProxy stats page port (0 = none)")
	fs.StringVar(&f.group, "group", lbsync.DefaultGroup, "expose apps of this HAPROXY_GROUP (* = all)")
	fs.Var(&f.nginxTemplates, "nginx-template", "in.ctmpl:out.conf[:reload-cmd] consul-template template for nginx (repeatable)")
	fs.StringVar(&f.nginxCheck, "nginx-check", lbsync.DefaultNginxCheck, "command checking nginx's configuration before a reload")
	fs.StringVar(&f.nginxBuiltin, "nginx-builtin", "", "out.conf[:reload-cmd]: also render the built-in nginx template there")
	fs.IntVar(&f.nginxPort, "nginx-port", 8081, "port the built-in nginx template listens on")
	fs.StringVar(&f.master, "master", "", "the master's URL: its /v2/apps decide which app owns a servicePort, its /v2/info gives the cluster id (\"\" = decide from the instances)")
	fs.StringVar(&f.masterCred, "http-credentials", os.Getenv("BERTH_CREDENTIALS"), "user:pass for the master's HTTP basic auth (env BERTH_CREDENTIALS)")
	fs.StringVar(&f.clusterID, "cluster-id", "", "route only instances with this berth_cluster (default: the master's cluster id; neither = all)")
	fs.BoolVar(&f.strictMode, "strict-mode", false, "expose only servicePorts whose app sets HAPROXY_{n}_ENABLED=true (marathon-lb's --strict-mode)")
	fs.StringVar(&f.wait, "wait", "50ms:1s", "min:max quiescence before applying a change")
	fs.StringVar(&f.listen, "listen", "127.0.0.1:9091", "status address (GET /routes, /metrics); \"\" = off")
	fs.StringVar(&f.statusCred, "status-credentials", os.Getenv("BERTH_LBSYNC_CREDENTIALS"), "user:pass required as basic auth on the status address (env BERTH_LBSYNC_CREDENTIALS; empty: open)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return f, f.validate()
}

func (f *lbsyncFlags) validate() error {
	// A file whose path is not given goes next to the one it belongs
	// with when that one is given (the master CLI beside the Runtime API
	// socket, the state file beside the config), else into --work-dir;
	// lbsyncMain creates every directory these paths name.
	def := func(p *string, sibling, name string) {
		switch {
		case *p != "":
		case sibling != "":
			*p = filepath.Join(filepath.Dir(sibling), name)
		default:
			*p = filepath.Join(f.workDir, name)
		}
	}
	def(&f.masterSocket, f.haproxySocket, "haproxy-master.sock")
	def(&f.stateFile, f.haproxyConfig, "haproxy.state")
	def(&f.haproxyConfig, "", "haproxy.cfg")
	def(&f.haproxySocket, "", "haproxy.sock")
	for _, p := range []string{f.haproxyConfig, f.haproxySocket, f.masterSocket, f.stateFile} {
		if strings.ContainsAny(p, " \t\r\n\"'#") {
			return fmt.Errorf("path %q: no whitespace, quotes or '#' allowed (it is written into haproxy.cfg)", p)
		}
	}
	if f.bind != "" && strings.ContainsAny(f.bind, " \t\r\n\"'#") {
		return fmt.Errorf("--bind %q is not an address", f.bind)
	}
	if f.master != "" && !strings.HasPrefix(f.master, "http://") && !strings.HasPrefix(f.master, "https://") {
		return fmt.Errorf("--master %q: want an http:// or https:// URL", f.master)
	}
	if f.masterCred != "" && !strings.Contains(f.masterCred, ":") {
		return errors.New("--http-credentials: want user:pass")
	}
	var err error
	if f.waitMin, f.waitMax, err = parseWait(f.wait); err != nil {
		return err
	}
	for _, t := range f.nginxTemplates {
		spec, err := lbsync.ParseTemplateSpec(t)
		if err != nil {
			return err
		}
		f.templateSpecs = append(f.templateSpecs, spec)
	}
	return nil
}

// parseWait parses "min:max" or "min" (max = 4 × min, consul-template's rule).
func parseWait(s string) (time.Duration, time.Duration, error) {
	lo, hi, two := strings.Cut(s, ":")
	minD, err := time.ParseDuration(lo)
	if err != nil {
		return 0, 0, fmt.Errorf("--wait %q: %w", s, err)
	}
	maxD := 4 * minD
	if two {
		if maxD, err = time.ParseDuration(hi); err != nil {
			return 0, 0, fmt.Errorf("--wait %q: %w", s, err)
		}
	}
	if minD < 0 || maxD < minD {
		return 0, 0, fmt.Errorf("--wait %q: want 0 <= min <= max", s)
	}
	return minD, maxD, nil
}

func runLBSync(ctx context.Context, args []string, _, stderr io.Writer) int {
	f, err := parseLBSyncFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "berth lbsync: %v\n", err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil)).With("component", "lbsync")
	if err := lbsyncMain(ctx, f, logger, stderr); err != nil {
		fmt.Fprintf(stderr, "berth lbsync: %v\n", err)
		return 1
	}
	return 0
}

func lbsyncMain(ctx context.Context, f *lbsyncFlags, logger *slog.Logger, stderr io.Writer) error {
	ccfg := api.DefaultConfig()
	if f.consul != "" {
		ccfg.Address = f.consul
	}
	client, err := api.NewClient(ccfg)
	if err != nil {
		return fmt.Errorf("consul client: %w", err)
	}
	for _, p := range []string{f.haproxyConfig, f.haproxySocket, f.masterSocket, f.stateFile} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("directory of %s: %w", p, err)
		}
	}
	tmpl, err := haproxyTemplate(f.haproxyTemplate)
	if err != nil {
		return err
	}
	proc := haproxy.New(haproxy.Config{Binary: f.haproxyBinary, ConfigPath: f.haproxyConfig,
		MasterSocket: f.masterSocket, StatsSocket: f.haproxySocket, Output: stderr, Logger: logger})
	defer func() {
		if err := proc.Stop(15 * time.Second); err != nil {
			logger.Error("stopping haproxy", "err", err)
		}
	}()
	// An HAProxy answering on our master socket (left by an lbsync that
	// was killed) is ours: its ports are not probed. Otherwise every port
	// lbsync's HAProxy binds must be free: HAProxy binds with SO_REUSEPORT
	// and would silently share a port with a second HAProxy.
	adopted := proc.Running(ctx)
	if !adopted {
		ports := map[int]string{f.httpPort: "--http-port"}
		if f.statsPort > 0 {
			ports[f.statsPort] = "--haproxy-stats-port"
		}
		if err := lbsync.CheckPortsFree(f.bind, ports); err != nil {
			return err
		}
	}
	targets := []lbsync.Target{lbsync.NewHAProxyTarget(lbsync.HAProxyTargetConfig{
		HAProxy: proc, Template: tmpl, ConfigPath: f.haproxyConfig, Logger: logger, Adopted: adopted,
		PortFree: func(port int) error { return lbsync.ProbePort(f.bind, port) },
		Settings: lbsync.HAProxySettings{StatsSocket: f.haproxySocket, StateFile: f.stateFile,
			StatsPort: f.statsPort, BindAddr: f.bind},
	})}
	if f.nginxBuiltin != "" {
		dest, reload, _ := strings.Cut(f.nginxBuiltin, ":")
		targets = append(targets, lbsync.NewNginxTarget(lbsync.NginxTargetConfig{Port: f.nginxPort,
			Destination: dest, Check: f.nginxCheck, Reload: reload, Logger: logger}))
	}
	var syncer *lbsync.Syncer
	var runner *lbsync.TemplateRunner
	if len(f.templateSpecs) > 0 {
		// The consul-template library logs through the standard logger at
		// every level; keep its INFO and above.
		log.SetOutput(levelFilter{w: stderr})
		runner = lbsync.NewTemplateRunner(lbsync.TemplateRunnerConfig{
			ConsulAddr: ccfg.Address, Token: ccfg.Token, Templates: f.templateSpecs, Check: f.nginxCheck,
			WaitMin: f.waitMin, WaitMax: f.waitMax, Logger: logger,
			OnResult: func(spec lbsync.TemplateSpec, err error) { syncer.TemplateResult(spec, err) },
		})
	}
	reserved := []int{}
	if f.statsPort > 0 {
		reserved = append(reserved, f.statsPort)
	}
	var source lbsync.Source = lbsync.NewConsulSource(lbsync.ConsulSourceConfig{Client: client, Address: ccfg.Address, Tag: f.consulTag, Logger: logger})
	if f.master != "" {
		user, pass, _ := strings.Cut(f.masterCred, ":")
		source = &lbsync.WithMaster{Consul: source, Logger: logger,
			Master: lbsync.NewMasterClient(lbsync.MasterClientConfig{URL: f.master, User: user, Password: pass, Logger: logger})}
	}
	syncer, err = lbsync.New(lbsync.Config{
		Source: source,
		Rules: lbsync.Rules{Group: f.group, HTTPPort: f.httpPort, ReservedPorts: reserved, ClusterID: f.clusterID,
			StrictMode: f.strictMode},
		Targets: targets, Templates: runner, WaitMin: f.waitMin, WaitMax: f.waitMax,
		Listen: f.listen, StatusCredentials: f.statusCred, Logger: logger,
	})
	if err != nil {
		return err
	}
	logger.Info("lbsync running", "consul", ccfg.Address, "master", f.master, "cluster_id", f.clusterID, "haproxy_config", f.haproxyConfig,
		"http_port", f.httpPort, "group", f.group, "status", f.listen)
	return syncer.Run(ctx)
}

// haproxyTemplate is --haproxy-template parsed, or the built-in one.
func haproxyTemplate(path string) (*template.Template, error) {
	if path == "" {
		return lbsync.DefaultHAProxyTemplate(), nil
	}
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return lbsync.ParseTemplate(filepath.Base(path), string(text))
}

// levelFilter drops consul-template's [DEBUG] and [TRACE] log lines.
type levelFilter struct{ w io.Writer }

func (l levelFilter) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("[DEBUG]")) || bytes.Contains(p, []byte("[TRACE]")) {
		return len(p), nil
	}
	return l.w.Write(p)
}
