package master

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/berth-platform/berth/internal/wire"
)

// pollDesired is one long poll with an explicit index, epoch and wait.
func pollDesired(t *testing.T, h *harness, a *fakeAgent, index uint64, epoch, wait string) wire.Desired {
	t.Helper()
	u := fmt.Sprintf("%s/internal/v1/agents/%s/desired?index=%d&wait=%s", h.srv.URL, a.id, index, wait)
	if epoch != "" {
		u += "&epoch=" + epoch
	}
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("desired: %d", res.StatusCode)
	}
	var d wire.Desired
	if err := json.NewDecoder(res.Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDesiredUnchangedWithinEpoch: a poll that passes the epoch and index
// of the set it holds gets "unchanged" (no tasks) when nothing changed;
// without the epoch, with another epoch, or after a change it gets the
// whole set — so an agent that does not know epochs is never told less.
func TestDesiredUnchangedWithinEpoch(t *testing.T) {
	h := newHarness(t, nil)
	a := h.agent("h1", nil)
	h.must(201, "POST", "/v2/apps", `{"id":"/e","cmd":"sleep 100","cpus":0.1,"mem":16,"instances":1}`)
	h.pass()

	full := pollDesired(t, h, a, 0, "", "0s")
	if full.Epoch == "" || full.Unchanged || len(full.Tasks) != 1 {
		t.Fatalf("first answer %+v: want the whole set (1 task) with an epoch", full)
	}
	if d := pollDesired(t, h, a, full.Index, full.Epoch, "10ms"); !d.Unchanged || len(d.Tasks) != 0 || d.Index != full.Index || d.Epoch != full.Epoch {
		t.Fatalf("same epoch and index: %+v, want unchanged", d)
	}
	if d := pollDesired(t, h, a, full.Index, "", "10ms"); d.Unchanged || len(d.Tasks) != 1 {
		t.Fatalf("no epoch: %+v, want the whole set", d)
	}
	if d := pollDesired(t, h, a, full.Index, "another", "10ms"); d.Unchanged || len(d.Tasks) != 1 {
		t.Fatalf("another epoch: %+v, want the whole set", d)
	}
	h.must(200, "PUT", "/v2/apps/e?force=true", `{"instances":2}`)
	h.pass()
	d := pollDesired(t, h, a, full.Index, full.Epoch, "10ms")
	if d.Unchanged || len(d.Tasks) != 2 || d.Index <= full.Index {
		t.Fatalf("after a change: %+v, want the whole set of 2 tasks with a newer index", d)
	}
}
