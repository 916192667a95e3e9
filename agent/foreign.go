package agent

// Foreign is an observed task that belongs to another cluster: the agent
// never adopts, reports, stops or removes it.
type Foreign struct {
	Observed Observed
	Reason   string
}

// SplitForeign separates the tasks of cluster from those of other
// clusters. It is pure. An empty cluster (the master sent no id) keeps
// everything, as before cluster ids existed; a task without a cluster id
// is foreign once the agent knows its cluster, since nothing says it is
// this cluster's.
func SplitForeign(obs []Observed, cluster string) (ours []Observed, foreign []Foreign) {
	if cluster == "" {
		return obs, nil
	}
	ours = make([]Observed, 0, len(obs))
	for _, o := range obs {
		switch o.ClusterID {
		case cluster:
			ours = append(ours, o)
		case "":
			foreign = append(foreign, Foreign{Observed: o, Reason: "no cluster id (berth.cluster-id); this agent belongs to cluster " + cluster})
		default:
			foreign = append(foreign, Foreign{Observed: o, Reason: "belongs to cluster " + o.ClusterID + ", not " + cluster})
		}
	}
	return ours, foreign
}

// dropForeignLocked keeps this cluster's tasks and logs each foreign one
// once (with its reason); it is the only place foreign tasks are seen.
func (a *Agent) dropForeignLocked(obs []Observed) []Observed {
	ours, foreign := SplitForeign(obs, a.clusterID)
	seen := make(map[string]string, len(foreign))
	for _, f := range foreign {
		id := f.Observed.TaskID
		seen[id] = f.Reason
		if a.foreign[id] != f.Reason {
			a.log.Warn("ignoring a task of another cluster; it is left untouched", "task", id,
				"runtime", f.Observed.Runtime, "id", f.Observed.RuntimeID, "reason", f.Reason)
		}
	}
	a.foreign = seen
	return ours
}

// ForeignTasks is how many observed tasks the latest list ignored as
// another cluster's (metrics, tests).
func (a *Agent) ForeignTasks() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.foreign)
}
