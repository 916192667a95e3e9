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
	"strconv"
	"strings"
	"time"

	"github.com/berth-platform/berth/placement/marathon"
	"github.com/berth-platform/berth/placement/master"
	"github.com/berth-platform/berth/placement/zkstore"
)

func masterCommand() command {
	return command{
		name:    "master",
		summary: "run the Marathon-compatible master (API, state, placement, deployments)",
		run:     runMaster,
	}
}

type masterFlags struct {
	listen, workDir, servicePorts, credentials string
	tlsCert, tlsKey, agentSecret               string
	zk, advertise                              string
	agentTimeout, zkSession, zkRetry           time.Duration
	allowPrivileged, allowParams, allowVolumes bool
	lbsyncStatus                               string
	lbsyncCred                                 string
	metricsOpen                                bool
	maxStreams                                 int
	writeRate                                  string
	jobQueues                                  string
	chronosListen                              string
	jobRetryDelay                              time.Duration
}

// servicePortRange parses "min-max".
func servicePortRange(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "-")
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || lo < 1 || hi > 65535 || lo > hi {
		return 0, 0, fmt.Errorf("--service-ports %q: want min-max within 1-65535", s)
	}
	return lo, hi, nil
}

func (f masterFlags) Validate() error {
	if _, _, err := servicePortRange(f.servicePorts); err != nil {
		return err
	}
	if f.credentials != "" && !strings.Contains(f.credentials, ":") {
		return errors.New("--http-credentials: want user:pass")
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if f.agentTimeout <= 0 {
		return errors.New("--agent-timeout must be positive")
	}
	if f.zk != "" {
		if _, err := zkstore.ParseURL(f.zk); err != nil {
			return fmt.Errorf("--zk: %v", err)
		}
	}
	if f.zkSession <= 0 || f.zkRetry <= 0 {
		return errors.New("--zk-session-timeout and --zk-retry must be positive")
	}
	if f.advertise != "" {
		if _, _, err := net.SplitHostPort(f.advertise); err != nil {
			return fmt.Errorf("--advertise %q: want host:port: %v", f.advertise, err)
		}
	}
	return nil
}

func runMaster(ctx context.Context, args []string, _, stderr io.Writer) int {
	fs := flag.NewFlagSet("berth master", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f masterFlags
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8080", "address of the HTTP API")
	fs.StringVar(&f.workDir, "work-dir", "./berth-data/master", "directory of the embedded store")
	fs.StringVar(&f.servicePorts, "service-ports", "10000-20000", "servicePort pool min-max")
	fs.StringVar(&f.credentials, "http-credentials", "", "user:pass enabling HTTP basic auth")
	fs.StringVar(&f.lbsyncStatus, "lbsync-status", os.Getenv("BERTH_LBSYNC"), "lbsync's status address (http://127.0.0.1:9091) for the web console's routes page (env BERTH_LBSYNC)")
	fs.StringVar(&f.lbsyncCred, "lbsync-credentials", os.Getenv("BERTH_LBSYNC_CREDENTIALS"), "user:pass for lbsync's status port (its --status-credentials; env BERTH_LBSYNC_CREDENTIALS)")
	fs.BoolVar(&f.metricsOpen, "metrics-open", false, "serve GET /metrics without --http-credentials (default: behind them)")
	fs.IntVar(&f.maxStreams, "max-event-streams", master.DefaultMaxEventStreams, "concurrent GET /v2/events streams; one more is answered 503")
	fs.StringVar(&f.writeRate, "write-rate", "0", "N or N/s: at most N POST/PUT/PATCH/DELETE per second on /v2 and /scheduler (bursts of N), beyond: 429 with Retry-After; 0 = no limit")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "TLS certificate (PEM) to serve HTTPS")
	fs.StringVar(&f.tlsKey, "tls-key", "", "TLS private key (PEM)")
	fs.StringVar(&f.agentSecret, "agent-secret", "", "shared secret agents must present")
	fs.DurationVar(&f.agentTimeout, "agent-timeout", 15*time.Second, "silence after which an agent is lost")
	fs.StringVar(&f.zk, "zk", "", "ZooKeeper URL zk://host:2181[,host…]/berth: state in ZooKeeper, leader election among the masters sharing it (empty: embedded store in --work-dir)")
	fs.DurationVar(&f.zkSession, "zk-session-timeout", 2*time.Second, "ZooKeeper session timeout: how long a dead leader keeps the leadership")
	fs.DurationVar(&f.zkRetry, "zk-retry", 10*time.Second, "how long store writes retry after a lost ZooKeeper connection")
	fs.StringVar(&f.advertise, "advertise", "", "host:port other masters and agents reach this master at (default: the listen address)")
	fs.BoolVar(&f.allowPrivileged, "allow-privileged", false, "accept apps with privileged containers")
	fs.BoolVar(&f.allowParams, "allow-docker-parameters", false, "accept apps with docker parameters")
	fs.BoolVar(&f.allowVolumes, "allow-host-volumes", false, "accept apps with host volumes")
	fs.StringVar(&f.chronosListen, "chronos-listen", "", "also serve the Chronos API (/scheduler, /v1/scheduler) on this address, e.g. 127.0.0.1:4400")
	fs.DurationVar(&f.jobRetryDelay, "job-retry-delay", 60*time.Second, "wait before a failed job run is retried (Chronos' --failure_retry)")
	fs.StringVar(&f.jobQueues, "job-queues", "", "capacity-queue tree of the job service (YAML or JSON file; empty: one default queue)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := f.Validate(); err != nil {
		fmt.Fprintf(stderr, "berth master: %v\n", err)
		return 2
	}
	queues, err := loadJobQueues(f.jobQueues)
	if err != nil {
		fmt.Fprintf(stderr, "berth master: --job-queues: %v\n", err)
		return 2
	}
	writeRate, err := master.ParseWriteRate(f.writeRate)
	if err != nil {
		fmt.Fprintf(stderr, "berth master: %v\n", err)
		return 2
	}
	lo, hi, _ := servicePortRange(f.servicePorts)
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	err = master.Serve(ctx, master.ServerConfig{
		Listen: f.listen, WorkDir: f.workDir, TLSCert: f.tlsCert, TLSKey: f.tlsKey,
		ZK: f.zk, ZKSessionTimeout: f.zkSession, ZKRetry: f.zkRetry, UIRoutesURL: f.lbsyncStatus,
		UIRoutesCredentials: f.lbsyncCred,
		ChronosListen:       f.chronosListen,
		Master: master.Config{Advertise: f.advertise,
			Logger: log, ServicePortMin: lo, ServicePortMax: hi, AgentSecret: f.agentSecret,
			AgentTimeout: f.agentTimeout, Credentials: f.credentials, MetricsOpen: f.metricsOpen,
			MaxEventStreams: f.maxStreams, WriteRate: writeRate, JobQueues: queues, JobRetryDelay: f.jobRetryDelay,
			Validation: marathon.Options{AllowPrivileged: f.allowPrivileged,
				AllowDockerParameters: f.allowParams, AllowHostVolumes: f.allowVolumes},
		},
	})
	if err != nil {
		fmt.Fprintf(stderr, "berth master: %v\n", err)
		return 1
	}
	return 0
}
