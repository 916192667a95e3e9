package consul

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/registrator"
	"github.com/hashicorp/consul/api"
)

// startACLConsul runs a dev agent with ACLs on (default deny) and the
// management token "root-token"; testenv's agent has no ACLs.
func startACLConsul(t *testing.T) string {
	t.Helper()
	bin := testenv.ConsulBinary(t)
	http := testenv.FreePort(t)
	hcl := `acl { enabled = true
default_policy = "deny"
tokens { initial_management = "root-token" } }
ports { grpc = -1
grpc_tls = -1 }`
	var logs bytes.Buffer
	cmd := exec.Command(bin, "agent", "-dev", "-node", "acl-test", "-bind", "127.0.0.1", "-client", "127.0.0.1",
		"-http-port", strconv.Itoa(http), "-dns-port", strconv.Itoa(testenv.FreePort(t)),
		"-server-port", strconv.Itoa(testenv.FreePort(t)), "-serf-lan-port", strconv.Itoa(testenv.FreePort(t)),
		"-serf-wan-port", strconv.Itoa(testenv.FreePort(t)), "-hcl", hcl, "-log-level", "warn")
	cmd.Dir = t.TempDir()
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start consul: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", http)
	c, _ := api.NewClient(&api.Config{Address: addr, Token: "root-token"})
	testenv.WaitFor(t, 30*time.Second, "ACL consul leader and ACL bootstrap", func() error {
		select {
		case <-done:
			return errors.New("consul exited: " + logs.String())
		default:
		}
		if _, _, err := c.ACL().TokenReadSelf(nil); err != nil {
			return err
		}
		return nil
	})
	return addr
}

func TestACLToken(t *testing.T) {
	addr := startACLConsul(t)
	ctx := context.Background()
	svc := registrator.Service{ID: "h:web:80", Name: "web", Port: 1, Meta: map[string]string{registrator.MetaOwner: "h"}}

	anon, err := New(Config{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	if err := anon.Register(ctx, svc); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("Register without a token = %v, want a 403 (the test would prove nothing otherwise)", err)
	}

	// The token comes from CONSUL_HTTP_TOKEN, as registrator reads it.
	t.Setenv("CONSUL_HTTP_ADDR", addr)
	t.Setenv("CONSUL_HTTP_TOKEN", "root-token")
	withEnv, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := withEnv.Register(ctx, svc); err != nil {
		t.Fatalf("Register with CONSUL_HTTP_TOKEN: %v", err)
	}
	owned, err := withEnv.Owned(ctx, "h")
	if err != nil || len(owned) != 1 || owned[0].ID != "h:web:80" {
		t.Fatalf("Owned = %+v, %v", owned, err)
	}
	if err := withEnv.Deregister(ctx, "h:web:80"); err != nil {
		t.Fatalf("Deregister: %v", err)
	}
}
