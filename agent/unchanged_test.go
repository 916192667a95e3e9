package agent

import (
	"fmt"
	"testing"
	"time"

	"github.com/berth-platform/berth/agent/agenttest"
	"github.com/berth-platform/berth/internal/wire"
)

// TestUnchangedAnswersKeepTheSet: polls answered "unchanged" (the agent
// passes the epoch and index of the set it holds; the answer has no
// tasks) leave the running task alone; the next real change still applies.
func TestUnchangedAnswersKeepTheSet(t *testing.T) {
	m := agenttest.NewMaster(t)
	h := startAgent(t, m, t.TempDir(), harnessOpts{runtimes: processRuntimes(t), mutate: func(c *Config) {
		c.PollWait = 100 * time.Millisecond
	}})
	spec := processSpec("web.u1", `exec sleep 60`)
	m.SetDesired(h.a.ID(), []wire.TaskSpec{spec})
	m.WaitState(t, spec.TaskID, wire.TaskRunning, 10*time.Second)
	waitFor(t, 10*time.Second, "three unchanged answers", func() error {
		if n := m.Unchanged(h.a.ID()); n < 3 {
			return fmt.Errorf("%d unchanged answers", n)
		}
		return nil
	})
	if last, _ := m.Last(spec.TaskID); last.State != wire.TaskRunning {
		t.Fatalf("after unchanged answers the task is %s, want still TASK_RUNNING", last.State)
	}
	m.SetDesired(h.a.ID(), nil)
	m.WaitState(t, spec.TaskID, wire.TaskKilled, 10*time.Second)
}
