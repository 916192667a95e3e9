package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/apiclient"
	"github.com/berth-platform/berth/internal/testenv"
)

func TestCliGroupRows(t *testing.T) {
	var g apiclient.Group
	doc := `{"id":"/","dependencies":[],"apps":[],"groups":[{"id":"/shop","dependencies":["/db"],
		"apps":[{"id":"/shop/web","instances":2,"tasksRunning":1,"dependencies":["/shop/api"],"deployments":[{"id":"d"}]}],
		"groups":[]}]}`
	if err := json.Unmarshal([]byte(doc), &g); err != nil {
		t.Fatal(err)
	}
	got := cliGroupRows(&g)
	want := [][]string{{"/", "", "", "-", ""}, {"  /shop/", "", "", "/db", ""},
		{"    /shop/web", "1/2", "-", "/shop/api", "yes"}}
	if len(got) != len(want) {
		t.Fatalf("rows = %q", got)
	}
	for i := range want {
		if strings.Join(got[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d = %q, want %q", i, got[i], want[i])
		}
	}
}

// TestCliGroups: `berth groups` shows a group POSTed to a real master,
// its apps running and their dependencies.
func TestCliGroups(t *testing.T) {
	c := cliStartCluster(t)
	body := `{"id":"/cli-g","apps":[{"id":"db","cmd":"sleep 120","cpus":0.1,"mem":16},
		{"id":"web","cmd":"sleep 120","cpus":0.1,"mem":16,"dependencies":["db"]}]}`
	res, err := http.Post(c.master+"/v2/groups", "application/json", strings.NewReader(body))
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("POST /v2/groups: %v %v", err, res)
	}
	res.Body.Close()
	testenv.WaitFor(t, 30*time.Second, "both apps running", func() error {
		r := c.run("groups")
		if !strings.Contains(r.stdout, "  /cli-g/") || strings.Count(r.stdout, "1/1") != 2 {
			return &cliOutputError{r.stdout + r.stderr}
		}
		return nil
	})
	r := c.expect(0, []string{"groups", "cli-g"}, "/cli-g/", "/cli-g/db", "/cli-g/web", "DEPENDS ON")
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.Contains(l, "/cli-g/web") && !strings.Contains(l, "/cli-g/db") {
			t.Errorf("web's row lacks its dependency: %q", l)
		}
	}
	r = c.expect(0, []string{"groups", "/cli-g", "--json"})
	var g apiclient.Group
	if err := json.Unmarshal([]byte(r.stdout), &g); err != nil || g.ID != "/cli-g" || len(g.Apps) != 2 {
		t.Fatalf("groups --json = %s (%v)", r.stdout, err)
	}
	c.expect(1, []string{"groups", "/nope"}, "Group '/nope' does not exist")
	res2, _ := http.NewRequest(http.MethodDelete, c.master+"/v2/groups/cli-g", nil)
	if resp, err := http.DefaultClient.Do(res2); err == nil {
		resp.Body.Close()
	}
}

type cliOutputError struct{ out string }

func (e *cliOutputError) Error() string { return "output:\n" + e.out }
