package registrator_test

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

// TestBerthRegistratorCommand runs the real `berth registrator` binary with
// registrator's flags against real Docker and Consul.
func TestBerthRegistratorCommand(t *testing.T) {
	bin := testenv.BerthBinary(t)

	// Bad flags are refused with exit code 2 and a reason.
	for _, args := range [][]string{
		{"-deregister", "sometimes"},
		{"-ip", "not-an-ip"},
		{"-tags", "{{.Name"},
		{"-ttl", "10"},
		{"etcd://127.0.0.1:2379/x", "consul://127.0.0.1:8500"},
	} {
		var stderr bytes.Buffer
		cmd := exec.Command(bin, append([]string{"registrator"}, args...)...)
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || stderr.Len() == 0 {
			t.Errorf("berth registrator %q: %v, stderr %q; want exit 2 with a reason", args, err, stderr.String())
		}
	}

	w := newWorld(t)
	var logs bytes.Buffer
	cmd := exec.Command(bin, "registrator", "-ip", "127.0.0.1", "-hostname", "cmdtest", "-cleanup", "-resync", "60",
		"-retry-attempts", "-1", "-retry-interval", "100", "-tags", "fromflag", "--consul", w.consul.HTTPAddr)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-done
		}
	})

	c := w.start(spec{publish: []string{"80/tcp"}, env: []string{"SERVICE_NAME=cmd"}})
	prefix := "cmdtest:" + c.name + ":"
	w.waitCatalog("registered by the command", prefix, []entry{{prefix + "80", "cmd", "127.0.0.1", c.ports["80/tcp"],
		[]string{"fromflag"}, meta("cmdtest", c)}})

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("still running 10 s after SIGTERM\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "msg=added") {
		t.Errorf("logs do not say what was added:\n%s", logs.String())
	}
}
