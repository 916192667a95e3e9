package agent

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berth-platform/berth/internal/wire"
)

// maxTasksWait bounds a task-list long poll.
const maxTasksWait = 60 * time.Second

// taskList is the published task list: its index moves when its content
// changes, and changed is closed (and replaced) at that moment.
type taskList struct {
	index   uint64
	sum     [32]byte
	cur     wire.AgentTasks
	changed chan struct{}
}

// TaskListEntry converts one task record into its task-list entry. It is
// pure: the labels are those a container of the task carries, the env the
// SERVICE_* part of the app's environment.
func TaskListEntry(r taskRecordView, agentID, clusterID string) wire.AgentTask {
	t := wire.AgentTask{
		TaskID: r.TaskID, AppID: r.AppID, Runtime: r.Runtime, State: r.State, ClusterID: r.ClusterID,
	}
	if t.ClusterID == "" {
		t.ClusterID = clusterID
	}
	if r.Spec == nil {
		return t
	}
	t.AppVersion = r.Spec.AppVersion
	t.Labels = TaskLabels(*r.Spec, agentID, t.ClusterID)
	for k, v := range r.Spec.Env {
		if strings.HasPrefix(k, "SERVICE_") {
			t.Env = append(t.Env, k+"="+v)
		}
	}
	sort.Strings(t.Env)
	for _, p := range r.Spec.Ports {
		t.HostPorts = append(t.HostPorts, p.HostPort)
	}
	t.Healthy = taskHealthy(r.Health)
	return t
}

// taskHealthy is the task's Marathon health once every check has a
// result (nil before, or without checks).
func taskHealthy(results []wire.HealthResult) *bool {
	if len(results) == 0 {
		return nil
	}
	alive := true
	for _, h := range results {
		if h.LastSuccess == "" && h.LastFailure == "" {
			return nil // this check has not run yet
		}
		alive = alive && h.Alive
	}
	return &alive
}

// taskRecordView is what TaskListEntry reads of a record.
type taskRecordView struct {
	TaskID, AppID, Runtime, State, ClusterID string
	Spec                                     *wire.TaskSpec
	Health                                   []wire.HealthResult
}

// publishTasksLocked recomputes the task list and, when it differs from
// the published one, bumps the index and wakes the long polls.
func (a *Agent) publishTasksLocked() {
	l := &a.list
	next := wire.AgentTasks{AgentID: a.id, Hostname: a.cfg.Hostname, ClusterID: a.clusterID, Tasks: []wire.AgentTask{}}
	for _, id := range a.sortedTaskIDsLocked() {
		r := a.tasks[id]
		next.Tasks = append(next.Tasks, TaskListEntry(taskRecordView{
			TaskID: r.TaskID, AppID: r.AppID, Runtime: r.Runtime, State: r.State, ClusterID: r.ClusterID, Spec: r.Spec,
			Health: r.Health,
		}, a.id, a.clusterID))
	}
	b, _ := json.Marshal(next) // plain strings, ints and maps: cannot fail
	sum := sha256.Sum256(b)
	if l.changed != nil && sum == l.sum {
		return
	}
	l.index++
	next.Index = l.index
	l.sum, l.cur = sum, next
	if l.changed != nil {
		close(l.changed)
	}
	l.changed = make(chan struct{})
}

// serveTasks serves GET /v1/tasks[?index=N&wait=30s]: the task list,
// answered at once when its index differs from N, else when it changes or
// the wait (at most 60 s) is over.
func (a *Agent) serveTasks(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var index uint64
	if s := q.Get("index"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("index %q: want a non-negative integer", s))
			return
		}
		index = n
	}
	wait := 30 * time.Second
	if s := q.Get("wait"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("wait %q: want a duration such as 30s", s))
			return
		}
		wait = min(d, maxTasksWait)
	}
	a.mu.Lock()
	if a.list.changed == nil {
		a.publishTasksLocked()
	}
	cur, ch := a.list.cur, a.list.changed
	a.mu.Unlock()
	if index != 0 && cur.Index == index && wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ch:
		case <-t.C:
		case <-r.Context().Done():
			return
		}
		a.mu.Lock()
		cur = a.list.cur
		a.mu.Unlock()
	}
	w.Header().Set("X-Berth-Index", strconv.FormatUint(cur.Index, 10))
	writeJSON(w, http.StatusOK, cur)
}
