package lbsync

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestStaleTasks: with the master's task lists, an instance of this
// cluster and of the owning app whose task the master does not list for
// that app is excluded as "stale task"; UnknownTasks names exactly those.
func TestStaleTasks(t *testing.T) {
	a1 := inCluster(inst("/a", 10001, "10.0.0.1", 1), "c1")
	a2 := inCluster(inst("/a", 10001, "10.0.0.2", 2), "c1")  // started by hand: no task of the master
	b3 := inCluster(inst("/a", 10001, "10.0.0.3", 3), "c1")  // its task id is /b's in the master
	old := inCluster(inst("/a", 10001, "10.0.0.4", 4), "c0") // another cluster: foreign, not stale
	c5 := inCluster(inst("/c", 10001, "10.0.0.5", 5), "c1")  // another app on /a's port: stale owner
	task := func(in Instance) string { return in.Meta[MetaTask] }
	apps := []MasterApp{{ID: "/a", ServicePorts: []int{10001}}, {ID: "/b", ServicePorts: []int{10002}}}
	tests := []struct {
		name         string
		tasks        map[string]string
		insts        []Instance
		wantServices []string
		wantExcluded []string
		wantUnknown  []string
	}{
		{
			name:         "listed task routed, unlisted excluded, listed for another app excluded",
			tasks:        map[string]string{task(a1): "/a", task(b3): "/b"},
			insts:        []Instance{a1, a2, b3, old, c5},
			wantServices: []string{"10001 /a 1", "10002 /b 0"},
			wantExcluded: []string{"10001:/a:stale task", "10001:/a:stale task", "10001:/a:foreign cluster", "10001:/c:stale owner"},
			wantUnknown:  []string{task(a2), task(b3)},
		},
		{
			name:         "no task lists in the record: nothing is judged by its task id",
			tasks:        nil,
			insts:        []Instance{a1, a2},
			wantServices: []string{"10001 /a 2", "10002 /b 0"},
		},
		{
			name:         "the master lists no task at all (scaled to 0): every instance is stale, the frontend stays",
			tasks:        map[string]string{},
			insts:        []Instance{a1},
			wantServices: []string{"10001 /a 0", "10002 /b 0"},
			wantExcluded: []string{"10001:/a:stale task"},
			wantUnknown:  []string{task(a1)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := Snapshot{Instances: tt.insts, Master: &MasterRecord{ClusterID: "c1", Apps: apps, Tasks: tt.tasks}}
			m, _ := BuildModel(snap, Rules{})
			if got := summary(m); !slices.Equal(got, tt.wantServices) {
				t.Errorf("services %v, want %v", got, tt.wantServices)
			}
			got, want := excludedKinds(m), slices.Clone(tt.wantExcluded)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("excluded %v, want %v", got, want)
			}
			for _, s := range m.Services {
				for _, e := range s.Excluded {
					if e.Kind == ExcludedStaleTask && !strings.Contains(e.Reason, "master") {
						t.Errorf("reason %q does not say the master is why", e.Reason)
					}
				}
			}
			if got := UnknownTasks(snap); !slices.Equal(got, tt.wantUnknown) {
				t.Errorf("UnknownTasks %v, want %v", got, tt.wantUnknown)
			}
		})
	}
}

// fakeTaskMaster serves /v2/info and /v2/apps for one app on 10001 whose
// task list the test sets; it counts GET /v2/apps.
type fakeTaskMaster struct {
	mu    sync.Mutex
	tasks []string
	gets  atomic.Int32
}

func (f *fakeTaskMaster) set(tasks ...string) {
	f.mu.Lock()
	f.tasks = tasks
	f.mu.Unlock()
}

func (f *fakeTaskMaster) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/v2/info":
		fmt.Fprint(w, `{"berth":{"clusterId":"c1"}}`)
	case "/v2/apps":
		f.gets.Add(1)
		f.mu.Lock()
		var ts []string
		for _, id := range f.tasks {
			ts = append(ts, fmt.Sprintf(`{"id":%q}`, id))
		}
		f.mu.Unlock()
		fmt.Fprintf(w, `{"apps":[{"id":"/a","ports":[10001],"tasks":[%s]}]}`, strings.Join(ts, ","))
	case "/v2/events":
		<-r.Context().Done() // no events: only rechecks and the resync read the record
	default:
		http.NotFound(w, r)
	}
}

// TestUnknownTaskRechecksMaster: a snapshot with a task the last record
// does not list makes WithMaster re-read the master before the snapshot
// goes out, so a new task is routed in the same snapshot; a stale one is
// re-read for once only, however many snapshots still carry it.
func TestUnknownTaskRechecksMaster(t *testing.T) {
	fm := &fakeTaskMaster{}
	srv := httptest.NewServer(fm)
	defer srv.Close()
	consul := &fakeSource{ch: make(chan Snapshot)}
	w := &WithMaster{Consul: consul, Master: NewMasterClient(MasterClientConfig{URL: srv.URL, Resync: time.Hour})}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan Snapshot)
	done := make(chan error, 1)
	go func() { done <- w.Watch(ctx, out) }()
	defer func() { cancel(); <-done }()

	a1 := inCluster(inst("/a", 10001, "10.0.0.1", 1), "c1")
	a2 := inCluster(inst("/a", 10001, "10.0.0.2", 2), "c1")
	hand := inCluster(inst("/a", 10001, "10.0.0.9", 9), "c1")
	fm.set(a1.Meta[MetaTask])
	next := func(insts ...Instance) (Snapshot, []string) {
		t.Helper()
		select {
		case consul.ch <- Snapshot{Instances: insts}:
		case <-time.After(10 * time.Second):
			t.Fatal("WithMaster does not take snapshots")
		}
		deadline := time.After(10 * time.Second)
		for {
			select {
			case s := <-out:
				if len(s.Instances) != len(insts) || s.Master == nil {
					continue // an earlier snapshot or the first record
				}
				m, _ := BuildModel(s, Rules{})
				return s, excludedKinds(m)
			case <-deadline:
				t.Fatal("no merged snapshot")
			}
		}
	}
	if _, ex := next(a1); len(ex) != 0 {
		t.Fatalf("a listed task excluded: %v", ex)
	}
	// a2 is placed by the master after lbsync's last read and appears in
	// Consul: one re-read, and it is routed in this very snapshot.
	fm.set(a1.Meta[MetaTask], a2.Meta[MetaTask])
	before := fm.gets.Load()
	s, ex := next(a1, a2)
	if len(ex) != 0 || fm.gets.Load() != before+1 {
		t.Fatalf("new task: excluded %v after %d re-reads, want none after 1", ex, fm.gets.Load()-before)
	}
	if got := UnknownTasks(s); got != nil {
		t.Errorf("UnknownTasks of the merged snapshot %v", got)
	}
	// A container started by hand: one re-read, then excluded; later
	// snapshots carrying it cost no further read.
	before = fm.gets.Load()
	if _, ex := next(a1, a2, hand); !slices.Equal(ex, []string{"10001:/a:stale task"}) {
		t.Fatalf("hand-made task: excluded %v", ex)
	}
	b3 := inCluster(inst("/a", 10001, "10.0.0.3", 3), "c1")
	fm.set(a1.Meta[MetaTask], a2.Meta[MetaTask], b3.Meta[MetaTask])
	if _, ex := next(a1, a2, hand, b3); !slices.Equal(ex, []string{"10001:/a:stale task"}) {
		t.Fatalf("with a third new task: excluded %v", ex)
	}
	if _, ex := next(hand, a1, a2, b3); len(ex) != 1 {
		t.Fatalf("excluded %v", ex)
	}
	if got := fm.gets.Load() - before; got != 2 {
		t.Errorf("%d re-reads for the stale task and one new task over three snapshots, want 2", got)
	}
	// The master goes away (a leader change, a restart): its last record
	// cannot tell a new task from a stale one, so none is judged by it.
	srv.CloseClientConnections()
	srv.Config.SetKeepAlivesEnabled(false)
	srv.Listener.Close()
	c4 := inCluster(inst("/a", 10001, "10.0.0.4", 4), "c1")
	if _, ex := next(hand, a1, a2, b3, c4); len(ex) != 0 {
		t.Fatalf("master unreachable: excluded %v, want none (a new task must not wait for the master)", ex)
	}
}
