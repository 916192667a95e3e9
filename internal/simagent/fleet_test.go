package simagent

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/internal/wire"
	"github.com/berth-platform/berth/placement/master"
	"github.com/berth-platform/berth/placement/store"
)

// TestFleetAgainstMaster runs 20 simulated agents against a real master
// (embedded store, its real HTTP handler): an app's 50 tasks are placed on
// them and reported running; scaled to 10, the fleet stops the other 40.
func TestFleetAgainstMaster(t *testing.T) {
	st, err := store.OpenBolt(store.BoltConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	m, err := master.New(ctx, master.Config{Store: st, AgentTimeout: 15 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	runDone := make(chan error, 1)
	go func() { runDone <- m.Run(ctx) }()
	srv := httptest.NewServer(m.Handler())
	hm, err := NewHTTPMaster(srv.URL, "", 20)
	if err != nil {
		t.Fatal(err)
	}
	fleet, err := New(Config{Master: hm, Count: 20, PollWait: time.Second,
		Resources: wire.Resources{CPUs: 1, Mem: 1024, Disk: 1024, Ports: []wire.PortRange{{Begin: 31000, End: 31010}}}})
	if err != nil {
		t.Fatal(err)
	}
	fleetDone := make(chan error, 1)
	go func() { fleetDone <- fleet.Run(ctx) }()
	defer func() {
		cancel()
		<-fleetDone
		srv.Close()
		<-runDone
	}()

	post(t, srv.URL, http.MethodPost, "/v2/apps", `{"id":"/sim","cmd":"sleep 1000","cpus":0.1,"mem":16,"instances":50,"portDefinitions":[{"port":0}]}`, 201)
	waitTasks(t, srv.URL, fleet, 50)
	post(t, srv.URL, http.MethodPut, "/v2/apps/sim", `{"instances":10}`, 200)
	waitTasks(t, srv.URL, fleet, 10)
	if s := fleet.Stats(); s.Registered != 20 || s.Updates < 90 {
		t.Errorf("stats %+v: want 20 agents registered and ≥ 90 updates acked (50 running + 40 killed)", s)
	}
}

func post(t *testing.T, base, method, path, body string, want int) {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d", method, path, res.StatusCode, want)
	}
}

// waitTasks waits until the fleet runs n tasks and the master reports n
// running tasks of /sim, each with its placed host port.
func waitTasks(t *testing.T, base string, fleet *Fleet, n int) {
	t.Helper()
	testenv.WaitFor(t, 30*time.Second, fmt.Sprintf("%d tasks running", n), func() error {
		if r := fleet.Stats().Running; r != int64(n) {
			return fmt.Errorf("the fleet runs %d", r)
		}
		res, err := http.Get(base + "/v2/apps/sim/tasks")
		if err != nil {
			return err
		}
		defer res.Body.Close()
		var out struct {
			Tasks []struct {
				State string `json:"state"`
				Ports []int  `json:"ports"`
			} `json:"tasks"`
		}
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
			return err
		}
		running := 0
		for _, tk := range out.Tasks {
			if tk.State == wire.TaskRunning && len(tk.Ports) == 1 && tk.Ports[0] >= 31000 {
				running++
			}
		}
		if running != n || len(out.Tasks) != n {
			return fmt.Errorf("the master lists %d tasks, %d running with a port", len(out.Tasks), running)
		}
		return nil
	})
}
