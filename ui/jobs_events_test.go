package ui_test

import (
	"bufio"
	"context"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

// TestJobRunEventsReachTheUI: the UI's event stream (/ui/events, the
// master's /v2/events) carries a status_update_event for a job run's
// task — app id chronos:<job>, TASK_RUNNING then TASK_FINISHED — which
// is what makes ui.js refresh the jobs pages while a run goes on.
func TestJobRunEventsReachTheUI(t *testing.T) {
	if _, err := exec.LookPath("busybox"); err != nil {
		testenv.Need(t, "busybox", err)
	}
	s := startStack(t, stackOpts{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/ui/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/ui/events: %d", resp.StatusCode)
	}
	for _, c := range []struct{ method, path, body string }{
		{http.MethodPost, "/scheduler/iso8601", `{"name":"ev-job","command":"sleep 1","schedule":"R/2030-01-01T00:00:00Z/P1D","cpus":0.1,"mem":16}`},
		{http.MethodPut, "/scheduler/job/ev-job", ""},
	} {
		if code, body, err := s.do(c.method, c.path, c.body); err != nil || code/100 != 2 {
			t.Fatalf("%s %s: %d %s %v", c.method, c.path, code, body, err)
		}
	}
	want := []string{"TASK_RUNNING", "TASK_FINISHED"}
	sc := bufio.NewScanner(resp.Body)
	event := ""
	for sc.Scan() && len(want) > 0 {
		line := sc.Text()
		if e, ok := strings.CutPrefix(line, "event: "); ok {
			event = e
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if ok && event == "status_update_event" && strings.Contains(data, `"appId":"chronos:ev-job"`) &&
			strings.Contains(data, `"taskStatus":"`+want[0]+`"`) {
			want = want[1:]
		}
	}
	if len(want) > 0 {
		t.Fatalf("the event stream ended (%v) before a status_update_event of chronos:ev-job with %s", sc.Err(), want[0])
	}
}
