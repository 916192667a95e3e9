package ui

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// masterStateFixture is /master/state with completed tasks: a killed app
// task, one ended at 03:04:59.5, and a job run the job's history also has
// (listed once, as the job's).
func masterStateFixture(t *testing.T) masterStateJSON {
	t.Helper()
	sec := func(s string) float64 {
		at, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return float64(at.UnixMilli()) / 1e3
	}
	body := fmt.Sprintf(`{"slaves":[{"id":"a1","hostname":"node-1"}],"frameworks":[{"id":"berth","completed_tasks":[
		{"id":"shop_web.3","name":"/shop/web","framework_id":"berth","slave_id":"a9","state":"TASK_LOST",
		 "statuses":[{"state":"TASK_LOST","timestamp":%v,"message":"agent node-9 lost"}]},
		{"id":"shop_web.2","name":"/shop/web","framework_id":"berth","slave_id":"a1","state":"TASK_KILLED",
		 "statuses":[{"state":"TASK_RUNNING","timestamp":%v},{"state":"TASK_KILLED","timestamp":%v}]},
		{"id":"ct-extract.1767322800000.0.ab12","name":"chronos:extract","framework_id":"berth","slave_id":"a1",
		 "state":"TASK_FINISHED","statuses":[{"state":"TASK_FINISHED","timestamp":%v}]}]}]}`,
		sec("2026-01-02T03:04:59.500Z"), sec("2026-01-02T03:00:00Z"), sec("2026-01-02T03:03:30Z"), sec("2026-01-02T03:00:10Z"))
	var st masterStateJSON
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestEndedView: the master's completed tasks come with their agent's
// hostname (its id when unknown), end time and message; a task also in a
// job's history or an app's lastTaskFailure is listed once; newest first;
// at most maxEnded.
func TestEndedView(t *testing.T) {
	_, stat, _ := jobsFixture(t)
	rows := EndedView(EndedSources{State: masterStateFixture(t), Stats: map[string]jobStat{"extract": stat}}, fixedNow)
	var got []string
	for _, r := range rows {
		got = append(got, strings.Join([]string{r.Task, r.Owner, r.State, r.Ended, r.Host, r.Message}, "|"))
	}
	want := []string{
		"shop_web.3|/shop/web|lost|just now|a9|agent node-9 lost",
		"shop_web.2|/shop/web|killed|1m30s ago|node-1|",
		"ct-extract.1767322800000.0.ab12|job extract|success|4m50s ago|node-1|",
		"ct-extract.1767268800000.1.cd34|job extract|failure|15h04m ago|node-2|",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rows\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var many masterStateJSON
	many.Frameworks = make([]struct {
		CompletedTasks []completedTaskJSON `json:"completed_tasks"`
	}, 1)
	for i := range maxEnded + 5 {
		many.Frameworks[0].CompletedTasks = append(many.Frameworks[0].CompletedTasks, completedTaskJSON{ID: fmt.Sprintf("t%02d", i)})
	}
	if n := len(EndedView(EndedSources{State: many}, fixedNow)); n != maxEnded {
		t.Fatalf("%d rows, want %d", n, maxEnded)
	}
}
