package lbsync

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

// excludedKinds lists "servicePort:app:kind" for every excluded instance.
func excludedKinds(m Model) []string {
	var out []string
	for _, s := range m.Services {
		for _, e := range s.Excluded {
			out = append(out, fmt.Sprintf("%d:%s:%s", e.ServicePort, e.App, e.Kind))
		}
	}
	for _, e := range m.Unrouted {
		out = append(out, fmt.Sprintf("unrouted %d:%s:%s", e.ServicePort, e.App, e.Kind))
	}
	return out
}

// summary is "servicePort app backends" per service.
func summary(m Model) []string {
	var out []string
	for _, s := range m.Services {
		out = append(out, fmt.Sprintf("%d %s %d", s.ServicePort, s.App, len(s.Backends)))
	}
	return out
}

func inCluster(in Instance, id string) Instance {
	in.Meta[MetaCluster] = id
	return in
}

func TestOwnershipAndExclusion(t *testing.T) {
	master := func(apps ...MasterApp) *MasterRecord { return &MasterRecord{ClusterID: "c1", Apps: apps} }
	tests := []struct {
		name         string
		snap         Snapshot
		rules        Rules
		wantServices []string
		wantExcluded []string
	}{
		{
			name: "not passing: excluded with its kind, the service stays (503)",
			snap: Snapshot{Instances: []Instance{
				withStatus(inst("/a", 10001, "10.0.0.1", 1), StatusCritical, "http: refused"),
				withStatus(inst("/a", 10001, "10.0.0.2", 2), StatusWarning, "starting"),
				withStatus(inst("/a", 10001, "10.0.0.3", 3), StatusMaintenance, "drain"),
				inst("/a", 10001, "10.0.0.4", 4),
			}},
			wantServices: []string{"10001 /a 1"},
			wantExcluded: []string{"10001:/a:unhealthy", "10001:/a:not ready", "10001:/a:draining"},
		},
		{
			name: "cluster id: another cluster's instance is never routed, ours keeps the port",
			snap: Snapshot{Instances: []Instance{
				inCluster(inst("/web", 10001, "10.0.0.1", 1), "c1"),
				inCluster(inst("/old", 10001, "10.0.0.2", 2), "c0"),
				inst("/nolabel", 10002, "10.0.0.3", 3),
			}},
			rules:        Rules{ClusterID: "c1"},
			wantServices: []string{"10001 /web 1"},
			// The unlabelled instance is foreign too; its port gets no service.
			wantExcluded: []string{"10001:/old:foreign cluster", "unrouted 10002:/nolabel:foreign cluster"},
		},
		{
			name: "master: the master's app owns the port even with the smaller claimant around",
			snap: Snapshot{Master: master(MasterApp{ID: "/new", ServicePorts: []int{10001}}), Instances: []Instance{
				inCluster(inst("/new", 10001, "10.0.0.1", 1), "c1"),
				inCluster(inst("/a-stale", 10001, "10.0.0.2", 2), "c1"),
			}},
			wantServices: []string{"10001 /new 1"},
			wantExcluded: []string{"10001:/a-stale:stale owner"},
		},
		{
			name: "master: an app with no instance gets a frontend from its labels",
			snap: Snapshot{Master: master(MasterApp{ID: "/idle", ServicePorts: []int{10005, 10006},
				Labels: map[string]string{"HAPROXY_1_VHOST": "idle.example.com"}})},
			wantServices: []string{"10005 /idle 0", "10006 /idle 0"},
		},
		{
			name:         "master: a port no app owns is not routed at all",
			snap:         Snapshot{Master: master(), Instances: []Instance{inCluster(inst("/gone", 10009, "10.0.0.1", 1), "c1")}},
			wantExcluded: []string{"unrouted 10009:/gone:stale owner"},
		},
		{
			name: "master: a task whose readiness check has not passed is not routed, even passing in Consul",
			snap: Snapshot{Master: &MasterRecord{ClusterID: "c1", Apps: []MasterApp{{ID: "/a", ServicePorts: []int{10001}}},
				NotReady: map[string]string{inst("/a", 10001, "10.0.0.2", 2).Meta[MetaTask]: "ready"}},
				Instances: []Instance{
					inCluster(inst("/a", 10001, "10.0.0.1", 1), "c1"),
					inCluster(inst("/a", 10001, "10.0.0.2", 2), "c1"),
				}},
			wantServices: []string{"10001 /a 1"},
			wantExcluded: []string{"10001:/a:not ready"},
		},
		{
			name: "master: cluster id learned from the master",
			snap: Snapshot{Master: master(MasterApp{ID: "/a", ServicePorts: []int{10001}}), Instances: []Instance{
				inCluster(inst("/a", 10001, "10.0.0.1", 1), "c1"),
				inCluster(inst("/a", 10001, "10.0.0.2", 2), "other"),
			}},
			wantServices: []string{"10001 /a 1"},
			wantExcluded: []string{"10001:/a:foreign cluster"},
		},
		{
			name: "master: an app of another group is not exposed",
			snap: Snapshot{Master: master(MasterApp{ID: "/int", ServicePorts: []int{10001}, Labels: map[string]string{MetaGroup: "internal"}})},
		},
		{
			name:         "no master: a retained servicePort keeps an empty frontend",
			snap:         Snapshot{Retained: []Instance{inst("/web", 10001, "10.0.0.1", 1, "HAPROXY_0_VHOST", "web.example.com")}},
			wantServices: []string{"10001 /web 0"},
		},
		{
			name: "no master: a live instance on a retained port wins",
			snap: Snapshot{Instances: []Instance{inst("/b", 10001, "10.0.0.2", 2)},
				Retained: []Instance{inst("/a", 10001, "10.0.0.1", 1)}},
			wantServices: []string{"10001 /b 1"},
		},
		{
			name: "master set: retained instances are ignored",
			snap: Snapshot{Master: master(), Retained: []Instance{inst("/a", 10001, "10.0.0.1", 1)}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := BuildModel(tt.snap, tt.rules)
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
					if e.Reason == "" || strings.ContainsAny(e.Reason, "\n\r") {
						t.Errorf("reason %q", e.Reason)
					}
				}
			}
		})
	}
}

func TestRetain(t *testing.T) {
	a1 := inst("/a", 10001, "10.0.0.1", 1)
	b := inst("/b", 10002, "10.0.0.2", 2)
	r := Retain(nil, Snapshot{Instances: []Instance{a1, b}})
	r2 := Retain(r, Snapshot{Instances: []Instance{b}})
	if got := slices.Sorted(maps.Keys(r2)); !slices.Equal(got, []int{10001, 10002}) {
		t.Fatalf("retained ports %v", got)
	}
	if len(r) != 2 {
		t.Error("Retain changed its input")
	}
	c := inst("/c", 10001, "10.0.0.3", 3)
	if r3 := Retain(r2, Snapshot{Instances: []Instance{c}}); r3[10001].Meta[MetaApp] != "/c" {
		t.Errorf("a new app on the port did not replace the retained one: %v", r3[10001].Meta)
	}
}
