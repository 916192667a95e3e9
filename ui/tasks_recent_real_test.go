package ui_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestRecentlyEndedFromMaster: against a real master and process agent,
// a task killed with scale=true appears in the tasks page's "Recently
// ended" as killed, on the agent's hostname, from /master/state's
// completed_tasks (the app has no lastTaskFailure for a kill).
func TestRecentlyEndedFromMaster(t *testing.T) {
	s := startStack(t, stackOpts{})
	if code, b, err := s.do(http.MethodPost, "/v2/apps", `{"id":"/ended","cmd":"sleep 1000","cpus":0.1,"mem":16,"instances":2}`); err != nil || code != 201 {
		t.Fatalf("create: %d %s %v", code, b, err)
	}
	var ids []string
	s.waitFor("two tasks running", 30*time.Second, func() (bool, error) {
		var out struct {
			Tasks []struct{ ID, State string }
		}
		if err := s.getJSON("/v2/apps/ended/tasks", &out); err != nil {
			return false, err
		}
		ids = ids[:0]
		for _, tk := range out.Tasks {
			if tk.State != "TASK_RUNNING" {
				return false, fmt.Errorf("%s %s", tk.ID, tk.State)
			}
			ids = append(ids, tk.ID)
		}
		if len(ids) != 2 {
			return false, fmt.Errorf("%d tasks", len(ids))
		}
		return true, nil
	})
	if code, b, err := s.do(http.MethodDelete, "/v2/apps/ended/tasks/"+ids[0]+"?scale=true", ""); err != nil || code != 200 {
		t.Fatalf("kill: %d %s %v", code, b, err)
	}
	row := regexp.MustCompile(`<tr><td><a href="/ui/tasks/` + regexp.QuoteMeta(ids[0]) + `">[^<]*</a></td><td><a href="/ui/apps/ended">/ended</a></td><td class="rs killed">killed</td><td>[^<]*</td><td>([^<]*)</td>`)
	var page string
	s.waitFor("the killed task in Recently ended", 30*time.Second, func() (bool, error) {
		code, b, err := s.do(http.MethodGet, "/ui/tasks", "")
		if err != nil || code != 200 {
			return false, fmt.Errorf("GET /ui/tasks: %d %v", code, err)
		}
		_, page, _ = strings.Cut(string(b), "Recently ended")
		if !row.MatchString(page) {
			return false, fmt.Errorf("not listed yet")
		}
		return true, nil
	})
	if host := row.FindStringSubmatch(page)[1]; host == "" || strings.Contains(page, `/ui/tasks/`+ids[1]+`"`) {
		t.Fatalf("host %q, or the running task %s listed as ended:\n%s", host, ids[1], page)
	}
}
