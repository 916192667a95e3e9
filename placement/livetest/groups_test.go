package livetest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

// TestGroupDependencyOrder posts one three-level group (db ← api ← web,
// the web group depending on the api group) of process tasks with HTTP
// health checks. Start order is shown by the tasks' own times: every
// dependent is staged only after each task it depends on is running and
// healthy. Deleting the group stops it in reverse order, shown by the
// TASK_KILLED events of /v2/events.
func TestGroupDependencyOrder(t *testing.T) {
	s := newStack(t)
	a := s.agent("node-a")
	kills := s.watchKills(t)
	app := func(id string, n int, deps string) string {
		return fmt.Sprintf(`{"id":%q,"cmd":%q,"cpus":0.01,"mem":32,"instances":%d,"dependencies":[%s],
			"portDefinitions":[{"port":0}],
			"healthChecks":[{"protocol":"HTTP","path":"/","portIndex":0,"intervalSeconds":1,"gracePeriodSeconds":30}]}`, id, webCmd, n, deps)
	}
	s.must("POST", "/v2/groups", `{"id":"/shop","groups":[
		{"id":"data","apps":[`+app("db", 2, "")+`]},
		{"id":"svc","dependencies":["/shop/data"],"apps":[`+app("api", 2, "")+`]},
		{"id":"www","apps":[`+app("web", 1, `"/shop/svc/api"`)+`]}]}`, 201)
	for _, id := range []string{"/shop/data/db", "/shop/svc/api", "/shop/www/web"} {
		s.waitHealthy(id, map[string]int{"/shop/data/db": 2, "/shop/svc/api": 2, "/shop/www/web": 1}[id])
	}
	levels := [][]string{{"/shop/data/db"}, {"/shop/svc/api"}, {"/shop/www/web"}}
	for i := 1; i < len(levels); i++ {
		ready := s.latestHealthy(levels[i-1][0])
		staged := s.earliestStaged(levels[i][0])
		t.Logf("%s staged %s, after %s healthy at %s", levels[i][0], staged.Format(time.StampMilli), levels[i-1][0], ready.Format(time.StampMilli))
		if staged.Before(ready) {
			t.Errorf("%s staged at %s, before %s was healthy (%s)", levels[i][0], staged, levels[i-1][0], ready)
		}
	}
	s.must("DELETE", "/v2/groups/shop", "", 200)
	s.noDeployments()
	testenv.WaitFor(t, 30*time.Second, "no task process left", func() error {
		if live := a.live(); len(live) != 0 {
			return fmt.Errorf("running: %v", keys(live))
		}
		return nil
	})
	order := kills.apps()
	t.Logf("TASK_KILLED order: %v", order)
	last := map[string]int{}
	first := map[string]int{}
	for i, id := range order {
		if _, ok := first[id]; !ok {
			first[id] = i
		}
		last[id] = i
	}
	if len(order) != 5 || last["/shop/www/web"] > first["/shop/svc/api"] || last["/shop/svc/api"] > first["/shop/data/db"] {
		t.Errorf("stop order %v, want web, then api, then db", order)
	}
}

type healthTask struct {
	StagedAt           string
	HealthCheckResults []struct{ FirstSuccess string }
}

func (s *stack) appTasks(id string) []healthTask {
	var out struct{ Tasks []healthTask }
	_ = json.Unmarshal(s.must("GET", "/v2/apps"+id+"/tasks", "", 200), &out)
	return out.Tasks
}

func (s *stack) latestHealthy(id string) time.Time {
	var t0 time.Time
	for _, t := range s.appTasks(id) {
		for _, h := range t.HealthCheckResults {
			if v, err := time.Parse(time.RFC3339, h.FirstSuccess); err == nil && v.After(t0) {
				t0 = v
			}
		}
	}
	if t0.IsZero() {
		s.t.Fatalf("%s: no firstSuccess", id)
	}
	return t0
}

func (s *stack) earliestStaged(id string) time.Time {
	var t0 time.Time
	for _, t := range s.appTasks(id) {
		if v, err := time.Parse(time.RFC3339, t.StagedAt); err == nil && (t0.IsZero() || v.Before(t0)) {
			t0 = v
		}
	}
	return t0
}

// killWatch records the app of every TASK_KILLED status event, in order.
type killWatch struct {
	mu    sync.Mutex
	order []string
}

func (k *killWatch) apps() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.order...)
}

func (s *stack) watchKills(t *testing.T) *killWatch {
	req, _ := http.NewRequest("GET", s.master.url+"/v2/events?event_type=status_update_event", nil)
	req.Header.Set("Accept", "text/event-stream")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	k := &killWatch{}
	go func() {
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var ev struct{ AppID, TaskStatus string }
			if json.Unmarshal([]byte(data), &ev) == nil && ev.TaskStatus == "TASK_KILLED" {
				k.mu.Lock()
				k.order = append(k.order, ev.AppID)
				k.mu.Unlock()
			}
		}
	}()
	return k
}
