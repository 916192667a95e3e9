package master

import (
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/wire"
)

// liveIDs are the ids of the app's tasks that are not terminal.
func liveIDs(h *harness, app string) []string {
	var out []string
	for _, t := range h.tasks(app) {
		if !terminal(t.State) {
			out = append(out, t.ID)
		}
	}
	return out
}

func TestKillWithWipeExpungesAndReplaces(t *testing.T) {
	h := newHarness(t, nil)
	a := h.agent("node-1", nil)
	h.must(201, "POST", "/v2/apps", `{"id":"/w","cmd":"x","cpus":0.1,"mem":16,"instances":2}`)
	h.converge(a)
	before := liveIDs(h, "/w")
	// Plain kill: the task stays in the app (killing) until the agent
	// confirms; a replacement starts meanwhile.
	h.must(200, "DELETE", "/v2/apps/w/tasks/"+before[0], "")
	h.pass()
	inApp := false
	for _, tk := range h.tasks("/w") {
		inApp = inApp || (tk.ID == before[0] && tk.Killing)
	}
	if !inApp {
		t.Fatal("plain kill: the task left the app before its agent confirmed the kill")
	}
	h.converge(a)
	// wipe=true: the task leaves the app's state at once.
	victim := liveIDs(h, "/w")[0]
	r := h.must(200, "DELETE", "/v2/apps/w/tasks/"+victim+"?wipe=true", "").json(t)
	if r["task"].(map[string]any)["id"] != victim {
		t.Fatalf("answer = %v", r)
	}
	for _, id := range liveIDs(h, "/w") {
		if id == victim {
			t.Fatal("wiped task still in the app's state")
		}
	}
	h.pass()
	if n := len(liveIDs(h, "/w")); n != 2 {
		t.Fatalf("no replacement launched at once: %d tasks", n)
	}
	for _, k := range a.desired().Tasks {
		if k.TaskID == victim {
			t.Fatal("the wiped task is still desired on its agent")
		}
	}
	tasks := h.must(200, "GET", "/v2/apps/w/tasks", "").json(t)["tasks"].([]any)
	for _, tk := range tasks {
		if tk.(map[string]any)["id"] == victim {
			t.Fatal("wiped task still listed")
		}
	}
	// The wiped task stays expunged across a master restart until its
	// agent confirms the kill.
	h.restart()
	for _, id := range liveIDs(h, "/w") {
		if id == victim {
			t.Fatal("wiped task back in the app after a restart")
		}
	}
	h.converge(a)
	if n := len(liveIDs(h, "/w")); n != 2 {
		t.Fatalf("after converge: %d tasks", n)
	}
}

func TestWipeForgetsTaskOnUnreachableAgent(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.AgentTimeout = 5 * time.Second })
	a := h.agent("node-a", nil)
	h.must(201, "POST", "/v2/apps", `{"id":"/wu","cmd":"x","cpus":0.1,"mem":16,
		"unreachableStrategy":{"inactiveAfterSeconds":300,"expungeAfterSeconds":600}}`)
	h.converge(a)
	b := h.agent("node-b", nil)
	h.clock.Advance(6 * time.Second)
	b.desired()
	h.pass()
	ts := h.tasks("/wu")
	if len(ts) != 1 || ts[0].State != wire.TaskUnreachable {
		t.Fatalf("not unreachable: %+v", ts)
	}
	h.must(200, "DELETE", "/v2/apps/wu/tasks/"+ts[0].ID+"?wipe=true", "")
	h.pass()
	now := h.tasks("/wu")
	if len(now) != 1 || now[0].ID == ts[0].ID || now[0].AgentID != b.id {
		t.Fatalf("wipe of an unreachable task: %+v (want only a replacement on node-b)", now)
	}
}
