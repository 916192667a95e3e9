package agent

import (
	"testing"

	"github.com/berth-platform/berth/internal/wire"
)

func TestSplitForeign(t *testing.T) {
	obs := []Observed{{TaskID: "a", ClusterID: "c1"}, {TaskID: "b", ClusterID: "c2"}, {TaskID: "c"}}
	tests := []struct {
		cluster     string
		ours, alien int
	}{
		{"c1", 1, 2},
		{"", 3, 0}, // the master sent no cluster id: everything is ours, as before
		{"c3", 0, 3},
	}
	for _, tt := range tests {
		ours, foreign := SplitForeign(obs, tt.cluster)
		if len(ours) != tt.ours || len(foreign) != tt.alien {
			t.Errorf("cluster %q: ours %v foreign %v", tt.cluster, ours, foreign)
		}
		for _, f := range foreign {
			if f.Reason == "" {
				t.Errorf("cluster %q: foreign %s without a reason", tt.cluster, f.Observed.TaskID)
			}
		}
	}
}

func TestTaskListEntry(t *testing.T) {
	spec := &wire.TaskSpec{TaskID: "w.1", AppID: "/w", AppVersion: "v", Env: map[string]string{"SERVICE_NAME": "x", "SECRET": "s"},
		Ports: []wire.TaskPort{{HostPort: 31000, ServicePort: 10000}}}
	e := TaskListEntry(taskRecordView{TaskID: "w.1", AppID: "/w", Runtime: RuntimeProcess, State: wire.TaskRunning, Spec: spec}, "ag", "c1")
	if e.ClusterID != "c1" || e.Labels[LabelClusterID] != "c1" || e.Labels["berth.port.0.container"] != "31000" ||
		e.Labels["berth.port.0.service"] != "10000" || len(e.Env) != 1 || e.Env[0] != "SERVICE_NAME=x" || e.HostPorts[0] != 31000 {
		t.Fatalf("entry %+v", e)
	}
	// A record adopted from another life keeps its own cluster id.
	e = TaskListEntry(taskRecordView{TaskID: "w.1", ClusterID: "old", Spec: spec}, "ag", "c1")
	if e.ClusterID != "old" || e.Labels[LabelClusterID] != "old" {
		t.Fatalf("entry %+v", e)
	}
}
