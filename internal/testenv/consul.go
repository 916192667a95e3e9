package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// Consul is a real Consul dev agent (bin/consul, built by `make setup`).
type Consul struct {
	HTTPAddr string // 127.0.0.1:port of the HTTP API
	DNSAddr  string // 127.0.0.1:port of the DNS interface (UDP and TCP)
	Client   *api.Client
	proc     *Process
	t        testing.TB
}

// ConsulBinary returns the path of bin/consul.
func ConsulBinary(t testing.TB) string {
	t.Helper()
	p := filepath.Join(RepoRoot(t), "bin", "consul")
	_, err := os.Stat(p)
	Need(t, "consul (bin/consul, Consul 1.16.1 built from tools/)", err)
	return p
}

// StartConsul starts a Consul dev agent on free ports and waits until it
// has a leader. It is stopped when the test ends.
func StartConsul(t testing.TB) *Consul {
	t.Helper()
	bin := ConsulBinary(t)
	dir := t.TempDir()
	http, dns := FreePort(t), FreePort(t)
	args := []string{bin, "agent", "-dev",
		"-node", "berth-test", "-bind", "127.0.0.1", "-client", "127.0.0.1",
		"-http-port", strconv.Itoa(http), "-dns-port", strconv.Itoa(dns),
		"-server-port", strconv.Itoa(FreePort(t)),
		"-serf-lan-port", strconv.Itoa(FreePort(t)),
		"-serf-wan-port", strconv.Itoa(FreePort(t)),
		"-hcl", "ports { grpc = -1 \n grpc_tls = -1 }",
		"-log-level", "warn",
	}
	c := &Consul{
		HTTPAddr: fmt.Sprintf("127.0.0.1:%d", http),
		DNSAddr:  fmt.Sprintf("127.0.0.1:%d", dns),
		t:        t,
	}
	client, err := api.NewClient(&api.Config{Address: c.HTTPAddr})
	if err != nil {
		t.Fatalf("testenv: consul client: %v", err)
	}
	c.Client = client
	c.proc = startProcess(t, "consul", dir, nil, args...)
	c.waitReady()
	return c
}

// Stop stops the agent; its ports stay reserved for Start.
func (c *Consul) Stop() { c.proc.Stop() }

// Start starts a stopped agent again on the same ports. A dev agent keeps
// nothing, so the catalog comes back empty.
func (c *Consul) Start() {
	c.t.Helper()
	c.proc.Start()
	c.waitReady()
}

// Process exposes the agent's process (PID, log).
func (c *Consul) Process() *Process { return c.proc }

func (c *Consul) waitReady() {
	c.t.Helper()
	err := Poll(30*time.Second, func() error {
		if c.proc.Exited() {
			return errors.New("consul exited")
		}
		leader, err := c.Client.Status().Leader()
		if err != nil {
			return err
		}
		if leader == "" {
			return errors.New("no leader yet")
		}
		return nil
	})
	if err != nil {
		c.t.Fatalf("testenv: consul did not become ready: %v\n%s", err, c.proc.LogTail())
	}
}
