package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

// cliStartJobCluster starts a master with --job-queues and one process
// agent from the built binary.
func cliStartJobCluster(t *testing.T, queues string) *cliCluster {
	t.Helper()
	qf := filepath.Join(t.TempDir(), "queues.yaml")
	if err := os.WriteFile(qf, []byte(queues), 0o644); err != nil {
		t.Fatal(err)
	}
	c := cliStartMaster(t, "--job-queues", qf)
	aport := testenv.FreePort(t)
	cliStartProc(t, c.bin, c.dir, "agent", "agent", "--master", c.master,
		"--listen", fmt.Sprintf("127.0.0.1:%d", aport), "--work-dir", filepath.Join(c.dir, "agent"),
		"--containerizers", "process", "--consul", "", "--hostname", "cli-agent",
		"--resources", "cpus:4;mem:2048;disk:1000;ports:[39000-39100]")
	t.Cleanup(func() { // before the processes stop: no run left behind
		req, _ := http.NewRequest(http.MethodDelete, c.master+"/scheduler/jobs", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	})
	c.waitAgent(t)
	return c
}

// TestCliJobsAgainstRealMaster runs the real berth binary: job add FILE
// (a job and its dependent), jobs (table and --json), jobs queues, job run,
// job history, logs of the run's task, job rm.
func TestCliJobsAgainstRealMaster(t *testing.T) {
	c := cliStartJobCluster(t, "queues: [{name: etl, capacity: 30}, {name: adhoc, capacity: 70, maxCapacity: 90}]\n")
	file := c.writeApp("jobs.json", `[
	 {"name":"cli-a","schedule":"R/2030-01-01T00:00:00Z/P1D","command":"echo hello from $CHRONOS_JOB_NAME","cpus":"0.1","mem":"16","queue":"etl"},
	 {"name":"cli-b","parents":["cli-a"],"command":"echo then $CHRONOS_JOB_NAME","cpus":"0.1","mem":"16","queue":"adhoc"}]`)
	c.expect(0, []string{"job", "add", file}, "cli-a: added", "cli-b: added")
	c.expect(0, []string{"jobs"}, "NAME", "QUEUE", "cli-a", "R/2030-01-01T00:00:00", "cli-b", "after cli-a", "etl", "adhoc")
	var listed []struct {
		Name, Queue, State string
		Parents            []string
	}
	r := c.expect(0, []string{"jobs", "--json"})
	if err := json.Unmarshal([]byte(r.stdout), &listed); err != nil || len(listed) != 2 ||
		listed[0].Name != "cli-a" || listed[0].Queue != "etl" || listed[1].Name != "cli-b" || len(listed[1].Parents) != 1 {
		t.Fatalf("jobs --json: %v %s", err, r.stdout)
	}
	c.expect(0, []string{"jobs", "queues"}, "QUEUE", "GUARANTEED", "etl", "30", "adhoc", "70", "90")
	c.expect(0, []string{"job", "run", "cli-a"}, "cli-a: run queued")
	testenv.WaitFor(t, 30*time.Second, "cli-a and then cli-b succeeded", func() error {
		r := c.run("job", "history", "cli-b")
		if r.code != 0 || !strings.Contains(r.stdout, "success") {
			return fmt.Errorf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		return nil
	})
	r = c.expect(0, []string{"job", "history", "cli-a"}, "STATUS", "success", "cli-agent", "manual", "duration of 1 successful runs")
	task := regexp.MustCompile(`ct-cli-a\.[^\s]+`).FindString(r.stdout)
	if task == "" {
		t.Fatalf("no task id in the history:\n%s", r.stdout)
	}
	testenv.WaitFor(t, 10*time.Second, "berth logs of the run", func() error {
		r := c.run("logs", task)
		if r.code != 0 || !strings.Contains(r.stdout, "hello from cli-a") {
			return fmt.Errorf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		return nil
	})
	c.expect(0, []string{"job", "rm", "cli-b"}, "cli-b: deleted")
	c.expect(0, []string{"job", "rm", "cli-a"}, "cli-a: deleted")
	if r := c.run("job", "history", "cli-a"); r.code == 0 {
		t.Errorf("history of a removed job exits 0:\n%s", r.stdout)
	}
	r = c.expect(0, []string{"jobs", "--json"})
	if strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("jobs --json after rm: %s", r.stdout)
	}
}
