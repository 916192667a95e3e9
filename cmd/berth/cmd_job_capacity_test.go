package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

// TestJobQueueSharesOnProcessAgents: a real master with queues 20/80
// from a file and two real `berth agent` processes of 5 cpus each; 6
// one-cpu jobs in "small" and 14 in "big" (short sleeps), re-run as soon
// as they are idle so both queues always have runs waiting. Sampled every
// 100 ms for 40 s, small's share of the runs holding cpus (staging or
// running) is 20 ± 5 %.
func TestJobQueueSharesOnProcessAgents(t *testing.T) {
	if testing.Short() {
		t.Skip("a 40 s measurement")
	}
	qf := filepath.Join(t.TempDir(), "queues.yaml")
	if err := os.WriteFile(qf, []byte("queues: [{name: small, capacity: 20}, {name: big, capacity: 80}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := cliStartMaster(t, "--job-queues", qf)
	for i := range 2 {
		name := fmt.Sprintf("agent-%d", i)
		cliStartProc(t, c.bin, c.dir, name, "agent", "--master", c.master,
			"--listen", fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)), "--work-dir", filepath.Join(c.dir, name),
			"--containerizers", "process", "--consul", "", "--hostname", name,
			"--resources", "cpus:5;mem:4096;disk:1000;ports:[39200-39300]")
	}
	do := func(method, path, body string) error {
		req, _ := http.NewRequest(method, c.master+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			return fmt.Errorf("%s %s: %s", method, path, resp.Status)
		}
		return nil
	}
	t.Cleanup(func() { _ = do("DELETE", "/scheduler/jobs", "") }) // before the agents stop
	testenv.WaitFor(t, 20*time.Second, "both agents registered", func() error {
		var st struct {
			Active int `json:"activated_slaves"`
		}
		if err := c.getJSON("/master/state", &st); err != nil {
			return err
		}
		if st.Active != 2 {
			return fmt.Errorf("%d active agents", st.Active)
		}
		return nil
	})
	for q, n := range map[string]int{"small": 6, "big": 14} {
		for i := range n {
			body := fmt.Sprintf(`{"name":"%s-%d","command":"sleep %.1f","schedule":"R/2030-01-01T00:00:00Z/P1D","cpus":"1","mem":"16","disk":"10","queue":%q,"retries":"0"}`,
				q, i, 1+float64(i%3)*0.5, q)
			if err := do("POST", "/scheduler/iso8601", body); err != nil {
				t.Fatal(err)
			}
		}
	}
	var small, total, samples int
	sample := time.NewTicker(100 * time.Millisecond)
	defer sample.Stop()
	warm, end := time.Now().Add(5*time.Second), time.Now().Add(45*time.Second)
	for now := range sample.C {
		if now.After(end) {
			break
		}
		var js []struct{ Name, State string }
		if err := c.getJSON("/scheduler/jobs", &js); err != nil {
			t.Fatal(err)
		}
		for _, j := range js {
			if j.State == "idle" {
				if err := do("PUT", "/scheduler/job/"+j.Name, ""); err != nil {
					t.Fatal(err)
				}
			}
		}
		if now.Before(warm) {
			continue
		}
		var tasks struct {
			Tasks []struct{ AppID, State string }
		}
		if err := c.getJSON("/scheduler/tasks", &tasks); err != nil {
			t.Fatal(err)
		}
		samples++
		for _, tk := range tasks.Tasks { // staging or running: the cpus the run holds
			total++
			if strings.HasPrefix(tk.AppID, "chronos:small-") {
				small++
			}
		}
	}
	share := float64(small) / float64(total) * 100
	t.Logf("small's share %.1f%% of %d run samples (%.1f of 10 cpus held on average, %d samples)",
		share, total, float64(total)/float64(samples), samples)
	if share < 15 || share > 25 {
		t.Errorf("small's share %.1f%%, want 20 ± 5\n%s", share, c.logs())
	}
	if avg := float64(total) / float64(samples); avg < 8 {
		t.Errorf("%.1f of 10 cpus held on average: the queues were not saturated", avg)
	}
}
