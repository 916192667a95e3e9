package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

func devCommand() command {
	return command{
		name:    "dev",
		summary: "run the whole platform on this machine (Ctrl-C stops everything)",
		run:     runDev,
	}
}

type devConfig struct {
	consulBin  string
	consulHTTP string
	consulDNS  int
	workDir    string
}

func (c devConfig) Validate() error {
	if c.consulDNS <= 0 || c.consulDNS > 65535 {
		return fmt.Errorf("--consul-dns-port %d: not a port", c.consulDNS)
	}
	if _, _, err := net.SplitHostPort(c.consulHTTP); err != nil {
		return fmt.Errorf("--consul-http %q: %v", c.consulHTTP, err)
	}
	return nil
}

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("berth dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg devConfig
	fs.StringVar(&cfg.consulBin, "consul-bin", defaultConsulBin(), "Consul binary for the dev agent")
	fs.StringVar(&cfg.consulHTTP, "consul-http", "127.0.0.1:8500", "Consul HTTP address of the dev agent")
	fs.IntVar(&cfg.consulDNS, "consul-dns-port", 8600, "Consul DNS port of the dev agent")
	fs.StringVar(&cfg.workDir, "work-dir", "./berth-data/dev", "directory for logs and state")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "berth dev: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := dev(ctx, cfg, stdout, log); err != nil {
		fmt.Fprintf(stderr, "berth dev: %v\n", err)
		return 1
	}
	return 0
}

// defaultConsulBin looks for bin/consul beside the berth binary, then on PATH.
func defaultConsulBin() string {
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "consul")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("consul"); err == nil {
		return p
	}
	return "bin/consul"
}

func dev(ctx context.Context, cfg devConfig, stdout io.Writer, log *slog.Logger) error {
	if err := os.MkdirAll(cfg.workDir, 0o755); err != nil {
		return err
	}
	consulAddr := os.Getenv("CONSUL_HTTP_ADDR")
	if consulAddr == "" {
		consulAddr = cfg.consulHTTP
		if err := portsFree(consulAddr, fmt.Sprintf("127.0.0.1:%d", cfg.consulDNS)); err != nil {
			return fmt.Errorf("cannot start the Consul dev agent: %w (is another `berth dev` running? set CONSUL_HTTP_ADDR to use a running Consul)", err)
		}
		fmt.Fprintln(stdout, "starting Consul dev agent …")
		stop, err := startChild(cfg.consulBin, filepath.Join(cfg.workDir, "consul.log"),
			"agent", "-dev", "-ui", "-node", "berth-dev", "-bind", "127.0.0.1", "-client", "127.0.0.1",
			"-http-port", portOf(consulAddr), "-dns-port", fmt.Sprint(cfg.consulDNS), "-log-level", "warn")
		if err != nil {
			return fmt.Errorf("consul: %w", err)
		}
		defer stop()
		if err := waitHTTP(ctx, "http://"+consulAddr+"/v1/status/leader", 30*time.Second); err != nil {
			return fmt.Errorf("consul did not become ready (log: %s): %w", filepath.Join(cfg.workDir, "consul.log"), err)
		}
	}
	fmt.Fprintf(stdout, "\nBerth dev is up:\n")
	fmt.Fprintf(stdout, "  Consul UI   http://%s/ui/\n", consulAddr)
	fmt.Fprintf(stdout, "  Consul DNS  dig @127.0.0.1 -p %d <service>.service.consul SRV\n", cfg.consulDNS)
	fmt.Fprintf(stdout, "  logs        %s\n\nCtrl-C stops everything.\n", cfg.workDir)
	<-ctx.Done()
	fmt.Fprintln(stdout, "stopping …")
	return nil
}

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// portsFree fails, naming the address, when something already listens there.
func portsFree(addrs ...string) error {
	for _, a := range addrs {
		l, err := net.Listen("tcp", a)
		if err != nil {
			return fmt.Errorf("%s is already in use", a)
		}
		l.Close()
	}
	return nil
}

// startChild starts a child process in its own process group, logging to
// logPath, and returns a function that stops it (SIGTERM, then SIGKILL).
func startChild(bin, logPath string, args ...string) (stop func(), err error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }()
	return func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}, nil
}

// waitHTTP polls url until it answers 200 or the timeout passes.
func waitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	lastErr := errors.New("no answer")
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s: %s", url, resp.Status)
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return lastErr
		case <-time.After(100 * time.Millisecond):
		}
	}
}
