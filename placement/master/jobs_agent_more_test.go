package master_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

// logs reads a task's stdout through the master's logs proxy.
func (s *jobStack) logs(taskID string) (string, error) {
	c, b, err := s.do("GET", "/v2/tasks/"+url.PathEscape(taskID)+"/logs?stream=stdout", "")
	if err != nil {
		return "", err
	}
	if c != 200 {
		return "", fmt.Errorf("logs of %s: %d %s", taskID, c, b)
	}
	return string(b), nil
}

// TestJobArgumentsReachCommand: PUT job/{name}?arguments=… adds the
// arguments to a shell:false job's argv for that run only; the run's
// stdout, read through the logs proxy, shows them.
func TestJobArgumentsReachCommand(t *testing.T) {
	s := startJobStack(t, false)
	s.must(204, "POST", "/scheduler/iso8601", `{"name":"args","shell":false,"command":"/bin/echo","arguments":["base"],"schedule":"R/2030-01-01T00:00:00Z/P1D","cpus":"0.1","mem":"16"}`)
	s.must(204, "PUT", "/scheduler/job/args?arguments="+url.QueryEscape("first second"), "")
	s.waitJob("args", 1, 0)
	s.must(204, "PUT", "/v1/scheduler/job/args", "")
	s.waitJob("args", 2, 0)
	h := s.stat("args").History // newest first
	want := []string{"base\n", "base first second\n"}
	for i, run := range h {
		var out string
		testenv.WaitFor(t, 10*time.Second, "the run's stdout", func() error {
			var err error
			out, err = s.logs(run.TaskID)
			return err
		})
		if out != want[i] {
			t.Errorf("run %d (%s) printed %q, want %q", i, run.TaskID, out, want[i])
		}
	}
}

// TestDisabledJobRunsOnlyByHand: a disabled job is not run on schedule —
// an enabled twin with the same schedule runs twice meanwhile — but a
// manual run really runs, succeeds and is counted.
func TestDisabledJobRunsOnlyByHand(t *testing.T) {
	s := startJobStack(t, false)
	sched := "R/" + soon(500*time.Millisecond) + "/PT1S"
	s.must(204, "POST", "/scheduler/iso8601", `{"name":"off","command":"echo by hand","schedule":"`+sched+`","disabled":true,"cpus":"0.1","mem":"16"}`)
	s.must(204, "POST", "/scheduler/iso8601", `{"name":"twin","command":"true","schedule":"`+sched+`","cpus":"0.1","mem":"16"}`)
	testenv.WaitFor(t, 30*time.Second, "the twin to run twice", func() error {
		if j := s.job("twin"); j.SuccessCount < 2 {
			return fmt.Errorf("twin ran %d times", j.SuccessCount)
		}
		return nil
	})
	if j := s.job("off"); j.SuccessCount != 0 || j.ErrorCount != 0 || len(s.stat("off").History) != 0 {
		t.Fatalf("the disabled job ran on schedule: %+v", j)
	}
	s.must(204, "PUT", "/scheduler/job/off", "")
	j := s.waitJob("off", 1, 0)
	h := s.stat("off").History
	if len(h) != 1 || !h[0].Manual || h[0].Status != "success" || j.LastSuccess == "" || !j.Disabled {
		t.Fatalf("manual run of a disabled job: job %+v history %+v", j, h)
	}
	if out, err := s.logs(h[0].TaskID); err != nil || out != "by hand\n" {
		t.Errorf("its stdout %q %v", out, err)
	}
}

// TestRunningJobTaskListed: a running run's task is listed by
// /scheduler/tasks (what berth ps reads) and /master/state, and its
// logs are readable while it runs.
func TestRunningJobTaskListed(t *testing.T) {
	s := startJobStack(t, false)
	s.must(204, "POST", "/scheduler/iso8601", `{"name":"long","command":"echo started; exec sleep 60","schedule":"R/2030-01-01T00:00:00Z/P1D","cpus":"0.2","mem":"16"}`)
	s.must(204, "PUT", "/scheduler/job/long", "")
	var id string
	testenv.WaitFor(t, 30*time.Second, "the run listed as running by /scheduler/tasks", func() error {
		var out struct {
			Tasks []struct{ ID, AppID, State, Host string }
		}
		if err := s.get("/scheduler/tasks", &out); err != nil {
			return err
		}
		if len(out.Tasks) != 1 || out.Tasks[0].State != "TASK_RUNNING" || out.Tasks[0].AppID != "chronos:long" || out.Tasks[0].Host != "job-agent" {
			return fmt.Errorf("tasks %+v", out.Tasks)
		}
		id = out.Tasks[0].ID
		return nil
	})
	var st struct {
		Frameworks []struct {
			Tasks []struct{ ID, Name, State string }
		}
	}
	if err := s.get("/master/state", &st); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range st.Frameworks {
		for _, tk := range f.Tasks {
			found = found || (tk.ID == id && tk.Name == "chronos:long" && tk.State == "TASK_RUNNING")
		}
	}
	if !found {
		t.Errorf("/master/state lacks running task %s: %+v", id, st)
	}
	testenv.WaitFor(t, 10*time.Second, "the running task's stdout", func() error {
		out, err := s.logs(id)
		if err == nil && !strings.Contains(out, "started") {
			err = fmt.Errorf("stdout %q", out)
		}
		return err
	})
	s.must(204, "DELETE", "/scheduler/task/kill/long", "")
	testenv.WaitFor(t, 30*time.Second, "the run killed", func() error {
		if j := s.job("long"); j.State != "idle" {
			return fmt.Errorf("state %s", j.State)
		}
		return nil
	})
}
