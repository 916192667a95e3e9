package master

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/berth-platform/berth/internal/wire"
)

func rangesString(rs []wire.PortRange) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("%d-%d", r.Begin, r.End)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// slaveJSON is one agent in Mesos' /master/slaves shape.
func (m *Master) slaveJSON(a *agent, withTasks bool) map[string]any {
	total := a.reg.Resources
	var used wire.Resources
	var ports []int
	var tasks []map[string]any
	for _, t := range sortedTaskList(m.byAgent(a.reg.ID)) {
		if terminal(t.State) {
			continue
		}
		used.CPUs += t.Spec.Resources.CPUs
		used.Mem += t.Spec.Resources.Mem
		used.Disk += t.Spec.Resources.Disk
		used.GPUs += t.Spec.Resources.GPUs
		ports = append(ports, t.Ports...)
		if withTasks {
			tasks = append(tasks, map[string]any{"id": t.ID, "name": t.AppID, "framework_id": "berth",
				"slave_id": a.reg.ID, "state": t.State, "resources": t.Spec.Resources, "ports": nonNil(t.Ports)})
		}
	}
	sort.Ints(ports)
	var usedRanges []wire.PortRange
	for _, p := range ports {
		if n := len(usedRanges); n > 0 && usedRanges[n-1].End == p-1 {
			usedRanges[n-1].End = p
		} else {
			usedRanges = append(usedRanges, wire.PortRange{Begin: p, End: p})
		}
	}
	res := func(r wire.Resources, pr []wire.PortRange) map[string]any {
		return map[string]any{"cpus": r.CPUs, "mem": r.Mem, "disk": r.Disk, "gpus": r.GPUs, "ports": rangesString(pr)}
	}
	attrs := a.reg.Attributes
	if attrs == nil {
		attrs = map[string]string{}
	}
	out := map[string]any{
		"id": a.reg.ID, "hostname": a.reg.Hostname, "pid": "slave(1)@" + a.reg.AdvertiseIP,
		"url": a.reg.URL, "attributes": attrs, "active": !a.lost, "version": a.reg.Version,
		"resources": res(total, total.Ports), "used_resources": res(used, usedRanges),
		"last_seen": ts(a.lastSeen),
	}
	if withTasks {
		if tasks == nil {
			tasks = []map[string]any{}
		}
		out["tasks"] = tasks
	}
	return out
}

func (m *Master) sortedAgents() []*agent {
	out := make([]*agent, 0, len(m.agents))
	for _, a := range m.agents {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].reg.ID < out[j].reg.ID })
	return out
}

// handleMasterSlaves serves GET /master/slaves.
func (m *Master) handleMasterSlaves(w http.ResponseWriter, _ *http.Request) {
	m.mu.Lock()
	slaves := []map[string]any{}
	for _, a := range m.sortedAgents() {
		slaves = append(slaves, m.slaveJSON(a, true))
	}
	m.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"slaves": slaves})
}

// handleMasterState serves GET /master/state.
func (m *Master) handleMasterState(w http.ResponseWriter, _ *http.Request) {
	m.mu.Lock()
	slaves := []map[string]any{}
	active := 0
	for _, a := range m.sortedAgents() {
		slaves = append(slaves, m.slaveJSON(a, true))
		if !a.lost {
			active++
		}
	}
	tasks := []map[string]any{}
	for _, t := range sortedTasks(m.tasks) {
		tasks = append(tasks, map[string]any{"id": t.ID, "name": t.AppID, "slave_id": t.AgentID,
			"state": t.State, "resources": t.Spec.Resources})
	}
	completed := []map[string]any{}
	for _, c := range m.completed.newestFirst() {
		completed = append(completed, completedJSON(c))
	}
	m.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"version": "berth", "leader": m.leader(), "hostname": strings.Split(m.self(), ":")[0],
		"activated_slaves": active, "deactivated_slaves": len(slaves) - active, "slaves": slaves,
		"frameworks": []map[string]any{{"id": "berth", "name": "berth", "active": true, "tasks": tasks,
			"completed_tasks": completed}},
	})
}
