package lbsync

import (
	"slices"
	"strconv"
)

// The master's task list is the authority on which tasks exist. An
// instance of this cluster, of the app that owns its servicePort, whose
// task id the master does not list for that app is a stale or hand-made
// claimant (a container started with `docker run` and Berth's labels, a
// task an earlier master generation forgot): nothing on the agents
// reports it, so nothing else would ever stop it being routed.
//
// A brand-new task reaches Consul before the master's record says it
// exists (the record is read on events and every 30 s, and no event says
// "task running"), so WithMaster re-reads the master once for every task
// id UnknownTasks names before the snapshot goes out: a new task waits at
// most one master round trip, a stale one is excluded after it.

// taskVerdict says whether the master's record lists task for app. ok is
// true when the task may be routed: no record, a record without task
// lists (Tasks nil: it cannot tell), an instance without a task id (not a
// Berth task), or the master lists it for that app.
func taskVerdict(rec *MasterRecord, app, task string) (ok bool, why string) {
	if rec == nil || rec.Tasks == nil || task == "" {
		return true, ""
	}
	owner, listed := rec.Tasks[task]
	switch {
	case !listed:
		return false, "task unknown to the master (app " + quoteValue(app) + " lists " +
			strconv.Itoa(rec.taskCount(app)) + " other tasks)"
	case owner != app:
		return false, "the master lists this task for app " + quoteValue(owner) + ", not " + quoteValue(app)
	}
	return true, ""
}

// taskCount is how many tasks the record lists for app.
func (r *MasterRecord) taskCount(app string) int {
	n := 0
	for _, a := range r.Tasks {
		if a == app {
			n++
		}
	}
	return n
}

// UnknownTasks returns, sorted and without duplicates, the task ids of
// instances in s that the master's record does not list although they
// claim to be this cluster's (Meta berth_cluster is the record's cluster
// id, when it has one) and their app is the one the record gives their
// servicePort: exactly the instances BuildModel would exclude as
// ExcludedStaleTask. It is pure; nil when s has no record or the record no
// task lists.
func UnknownTasks(s Snapshot) []string {
	rec := s.Master
	if rec == nil || rec.Tasks == nil {
		return nil
	}
	var out []string
	for i := range s.Instances {
		in := &s.Instances[i]
		task, app := in.Meta[MetaTask], appOf(in)
		if task == "" || (rec.ClusterID != "" && in.Meta[MetaCluster] != rec.ClusterID) {
			continue
		}
		if ok, _ := taskVerdict(rec, app, task); ok || !rec.owns(app, in.Meta[MetaServicePort]) {
			continue
		}
		out = append(out, task)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// owns reports whether the record gives servicePort (as Meta text) to app.
func (r *MasterRecord) owns(app, servicePort string) bool {
	p, err := strconv.Atoi(servicePort)
	if err != nil {
		return false
	}
	for _, a := range r.Apps {
		if a.ID == app && slices.Contains(a.ServicePorts, p) {
			return true
		}
	}
	return false
}
