package livetest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

// TestAcceptedResourceRoles runs an agent offering "*" (the default) and
// one started with --roles slave_public: an app accepting ["*"] and one
// without acceptedResourceRoles land on the first, ["slave_public"] on the
// second (marathon-lb's usual definition), and ["ops"], a role no agent
// offers, waits in /v2/queue with an explanation naming
// acceptedResourceRoles.
func TestAcceptedResourceRoles(t *testing.T) {
	s := newStack(t)
	s.agent("node-a")
	s.agent("node-pub", "--roles", "slave_public")
	for id, roles := range map[string]string{"/roles/star": `,"acceptedResourceRoles":["*"]`, "/roles/unset": ``,
		"/roles/public": `,"acceptedResourceRoles":["slave_public"]`, "/roles/ops": `,"acceptedResourceRoles":["ops"]`} {
		s.must("POST", "/v2/apps", fmt.Sprintf(`{"id":%q,"cmd":"sleep 600","cpus":0.01,"mem":8,"instances":2%s}`, id, roles), 201)
	}
	on := func(host string) func([]task) error {
		return func(ts []task) error {
			if err := running(2)(ts); err != nil {
				return err
			}
			for _, tk := range ts {
				if tk.Host != host {
					return fmt.Errorf("task %s on %s, want %s", tk.ID, tk.Host, host)
				}
			}
			return nil
		}
	}
	s.waitTasks("/roles/star", "on node-a", 30*time.Second, on("node-a"))
	s.waitTasks("/roles/unset", "on node-a", 30*time.Second, on("node-a"))
	s.waitTasks("/roles/public", "on node-pub", 30*time.Second, on("node-pub"))
	testenv.WaitFor(t, 30*time.Second, "/roles/ops waits with an explanation", func() error {
		var q struct {
			Queue []struct {
				App         struct{ ID string }
				Count       int
				Explanation string
			}
		}
		b, err := s.call("GET", "/v2/queue", "", 200)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &q); err != nil {
			return err
		}
		for _, e := range q.Queue {
			if e.App.ID == "/roles/ops" && e.Count == 2 && strings.Contains(e.Explanation, "acceptedResourceRoles [ops] not offered on 2 agents") {
				return nil
			}
		}
		return fmt.Errorf("queue: %s", b)
	})
	if ts, _ := s.tasks("/roles/ops"); len(ts) != 0 {
		t.Fatalf("/roles/ops has tasks %+v", ts)
	}
}
