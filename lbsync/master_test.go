package lbsync

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/placement/master"
)

// startMaster runs a real berth master (embedded store) in-process and
// returns its URL.
func startMaster(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- master.Serve(ctx, master.ServerConfig{Listen: "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)), WorkDir: t.TempDir(),
			Master: master.Config{Logger: slog.New(slog.DiscardHandler)}, Ready: func(a string) { addr <- a }})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("master: %v", err)
		}
	})
	select {
	case a := <-addr:
		return "http://" + a
	case err := <-done:
		t.Fatalf("master: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("master did not start")
	}
	return ""
}

func masterDo(t *testing.T, method, url string, body any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: %s %s", method, url, resp.Status, b)
	}
}

// TestMasterOwnership: with --master, the master's /v2/apps decide which
// app owns a servicePort: an app with no instance answers 503; a stale
// claimant (an instance of an app the master gave another port) and a
// foreign cluster's instance are never routed and are named in /routes;
// the owner's instance is routed; destroying the app takes its frontend
// away at once (the master's event stream, not the 30 s resync).
func TestMasterOwnership(t *testing.T) {
	url := startMaster(t)
	h := startHarness(t, harnessOpts{clusterID: "c1", source: func(h *harness, consul Source) Source {
		return &WithMaster{Consul: consul, Master: NewMasterClient(MasterClientConfig{URL: url})}
	}})
	sp := testenv.FreePort(t)
	masterDo(t, "POST", url+"/v2/apps", map[string]any{"id": "/web", "cmd": "sleep 1000", "instances": 0,
		"portDefinitions": []map[string]any{{"port": sp}}, "labels": map[string]string{"HAPROXY_0_MODE": "http"}})
	h.expectStatus(sp, "", 503, "No server is available")

	h.register("/stale", sp, newBackend(t, "stale"), MetaCluster, "c1")
	h.register("/web", sp, newBackend(t, "foreign"), MetaCluster, "c0")
	testenv.WaitFor(t, 10*time.Second, "/routes names the stale and the foreign claimant", func() error {
		st := fetchStatus(t, h.statusAddr)
		if st.Ownership != "master" || st.ClusterID != "c1" {
			return fmt.Errorf("ownership %q cluster %q", st.Ownership, st.ClusterID)
		}
		for _, s := range st.Services {
			if s.ServicePort != sp {
				continue
			}
			kinds := map[string]string{}
			for _, e := range s.Excluded {
				kinds[e.App] = e.Kind
			}
			if s.App == "/web" && len(s.Backends) == 0 && kinds["/stale"] == ExcludedStaleOwner && kinds["/web"] == ExcludedForeign {
				return nil
			}
		}
		return fmt.Errorf("services %+v", st.Services)
	})
	h.expectStatus(sp, "", 503, "No server is available")
	if got := gauge(t, h.syncer, "berth_lbsync_excluded_instances", "reason", ExcludedStaleOwner); got != 1 {
		t.Errorf("stale owner gauge = %v", got)
	}

	// An instance of the owning app and this cluster whose task the
	// master does not list (no agent runs this master's tasks here) is
	// excluded as a stale task, after lbsync re-read the master for it.
	hand := h.register("/web", sp, newBackend(t, "hand"), MetaCluster, "c1", "HAPROXY_0_MODE", "http")
	testenv.WaitFor(t, 10*time.Second, "/routes names the unknown task", func() error {
		for _, s := range fetchStatus(t, h.statusAddr).Services {
			for _, e := range s.Excluded {
				if s.ServicePort == sp && e.Kind == ExcludedStaleTask && strings.Contains(e.Reason, "unknown to the master") {
					return nil
				}
			}
		}
		return fmt.Errorf("not yet")
	})
	h.expectStatus(sp, "", 503, "No server is available")
	h.deregister(hand)

	reloads := h.reloads()
	// The registrator copies the app's labels into the instance's Meta.
	// No berth_task: this master has no agent, so no task to list; an
	// instance without a task id is not judged by it (TestStaleTasks).
	h.register("/web", sp, newBackend(t, "web-1"), MetaCluster, "c1", "HAPROXY_0_MODE", "http", MetaTask, "")
	h.expectSet(sp, "", "web-1")
	if h.reloads() != reloads {
		t.Error("the first instance of a known app needed a reload")
	}

	masterDo(t, "DELETE", url+"/v2/apps/web", nil)
	testenv.WaitFor(t, 10*time.Second, "the destroyed app's frontend is gone", func() error {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(sp), time.Second)
		if err == nil {
			c.Close()
			return fmt.Errorf("servicePort %d still accepts", sp)
		}
		return nil
	})
}

// gauge reads a gauge with the given label pairs from s's registry.
func gauge(t testing.TB, s *Syncer, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := s.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue next
				}
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

// TestMasterFetchReadiness: tasks the master lists with a readiness check
// that is not ready yet are in the record's NotReady (ready ones are not),
// read from /v2/apps?embed=apps.readiness; the tasks from embed=apps.tasks.
func TestMasterFetchReadiness(t *testing.T) {
	var query string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v2/info":
			fmt.Fprint(w, `{"berth":{"clusterId":"c1"}}`)
		case "/v2/apps":
			query = r.URL.RawQuery
			fmt.Fprint(w, `{"apps":[{"id":"/a","ports":[10001],"tasks":[{"id":"a.1"},{"id":"a.2"}],"readinessCheckResults":[
				{"name":"ready","taskId":"a.1","ready":false},{"name":"ready","taskId":"a.2","ready":true}]}]}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	rec, err := NewMasterClient(MasterClientConfig{URL: srv.URL}).Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if query != "embed=apps.readiness&embed=apps.tasks" {
		t.Errorf("GET /v2/apps?%s, want embed=apps.readiness&embed=apps.tasks", query)
	}
	if fmt.Sprint(rec.NotReady) != "map[a.1:ready]" {
		t.Errorf("NotReady %v, want only a.1", rec.NotReady)
	}
	if fmt.Sprint(rec.Tasks) != "map[a.1:/a a.2:/a]" {
		t.Errorf("Tasks %v, want a.1 and a.2 of /a", rec.Tasks)
	}
}
