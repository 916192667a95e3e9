package master_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

// TestBerthMasterProcess runs the real `berth master` binary: create an
// app, stop the process with SIGTERM, start it again on the same work dir,
// and find the app (with its servicePort) still there.
func TestBerthMasterProcess(t *testing.T) {
	bin := testenv.BerthBinary(t)
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	start := func() *exec.Cmd {
		logf, err := os.Create(filepath.Join(dir, fmt.Sprintf("master-%d.log", time.Now().UnixNano())))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "master", "--listen", addr, "--work-dir", filepath.Join(dir, "state"),
			"--service-ports", "12000-12010")
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if cmd.ProcessState == nil {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			}
			logf.Close()
		})
		testenv.WaitFor(t, 20*time.Second, "berth master answers /ping", func() error {
			res, err := http.Get("http://" + addr + "/ping")
			if err != nil {
				return err
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				return fmt.Errorf("ping: %d", res.StatusCode)
			}
			return nil
		})
		return cmd
	}
	stop := func(cmd *exec.Cmd) {
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("berth master exited with %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("berth master did not stop on SIGTERM")
		}
	}
	cmd := start()
	res, err := http.Post("http://"+addr+"/v2/apps", "application/json",
		strings.NewReader(`{"id":"/proc/web","cmd":"sleep 100","instances":0}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 201 || !strings.Contains(string(body), `"ports":[12000]`) {
		t.Fatalf("POST: %d %s", res.StatusCode, body)
	}
	stop(cmd)
	cmd = start()
	res, err = http.Get("http://" + addr + "/v2/apps/proc/web")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `"ports":[12000]`) {
		t.Fatalf("after restart: %d %s", res.StatusCode, body)
	}
	stop(cmd)
}
