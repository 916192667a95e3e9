package agent

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/wire"
)

func TestDiff(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	spec := func(id string) wire.TaskSpec { return wire.TaskSpec{TaskID: id, AppID: "/a"} }
	running := func(id string) Observed { return Observed{TaskID: id, Running: true, Started: true} }
	exited := func(id string, ago time.Duration) Observed {
		return Observed{TaskID: id, Started: true, ExitKnown: true, FinishedAt: now.Add(-ago)}
	}
	created := func(id string) Observed { return Observed{TaskID: id} }
	set := func(ids ...string) map[string]bool {
		m := map[string]bool{}
		for _, id := range ids {
			m[id] = true
		}
		return m
	}
	tests := []struct {
		name string
		in   DiffInput
		want []string // "kind task: reason fragment"
	}{
		{"nothing", DiffInput{}, nil},
		{"launch desired", DiffInput{Desired: []wire.TaskSpec{spec("a")}}, []string{"launch a: desired"}},
		{"desired and running: nothing", DiffInput{Desired: []wire.TaskSpec{spec("a")}, Observed: []Observed{running("a")}}, nil},
		{"desired and exited: nothing (status reports it)", DiffInput{Desired: []wire.TaskSpec{spec("a")}, Observed: []Observed{exited("a", time.Hour)}, Now: now}, nil},
		{"busy tasks are left alone", DiffInput{Desired: []wire.TaskSpec{spec("a")}, Observed: []Observed{running("b")}, Busy: set("a", "b"), Known: set("b")}, nil},
		{"done tasks are not relaunched", DiffInput{Desired: []wire.TaskSpec{spec("a")}, Done: set("a")}, nil},
		{"interrupted launch is removed", DiffInput{Desired: []wire.TaskSpec{spec("a")}, Observed: []Observed{created("a")}}, []string{"remove a: never started"}},
		{"known task leaving the set is killed", DiffInput{Observed: []Observed{running("a")}, Known: set("a")}, []string{"kill a: no longer in the desired set"}},
		{"kill list wins over desired", DiffInput{Desired: []wire.TaskSpec{spec("a")}, Kill: []string{"a"}, Observed: []Observed{running("a")}}, []string{"kill a: the master asked"}},
		{"orphan within grace is kept", DiffInput{Observed: []Observed{running("a")}, OrphanDeadline: now.Add(time.Second), Now: now}, nil},
		{"orphan after grace is killed", DiffInput{Observed: []Observed{running("a")}, OrphanDeadline: now, Now: now}, []string{"kill a: unknown to the master"}},
		{"exited undesired kept during retention", DiffInput{Observed: []Observed{exited("a", time.Minute)}, RetainExited: time.Hour, Now: now}, nil},
		{"exited undesired removed after retention", DiffInput{Observed: []Observed{exited("a", 2*time.Hour)}, RetainExited: time.Hour, Now: now}, []string{"remove a: retention period over"}},
		{"created undesired removed", DiffInput{Observed: []Observed{created("a")}, RetainExited: time.Hour, Now: now}, []string{"remove a: never started and not desired"}},
		{"several, sorted", DiffInput{
			Desired:  []wire.TaskSpec{spec("c"), spec("a")},
			Observed: []Observed{running("b"), running("a")},
			Known:    set("b"),
		}, []string{"kill b: no longer", "launch c: desired"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Diff(tt.in)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d actions %v, want %v", len(got), fmtActions(got), tt.want)
			}
			for i, a := range got {
				s := fmt.Sprintf("%s %s: %s", a.Kind, a.TaskID, a.Reason)
				kindTask, frag, _ := strings.Cut(tt.want[i], ": ")
				if !strings.HasPrefix(s, kindTask+": ") || !strings.Contains(a.Reason, frag) {
					t.Errorf("action %d = %q, want %q", i, s, tt.want[i])
				}
			}
		})
	}
}

func TestDiffKillCarriesLastSpec(t *testing.T) {
	s := wire.TaskSpec{TaskID: "a", DrainSeconds: 3}
	got := Diff(DiffInput{Observed: []Observed{{TaskID: "a", Running: true, Started: true}}, Known: map[string]bool{"a": true}, Specs: map[string]wire.TaskSpec{"a": s}})
	if len(got) != 1 || got[0].Spec == nil || got[0].Spec.DrainSeconds != 3 || got[0].Observed == nil {
		t.Fatalf("got %v", fmtActions(got))
	}
}

func fmtActions(as []Action) []string {
	var out []string
	for _, a := range as {
		out = append(out, fmt.Sprintf("%s %s: %s", a.Kind, a.TaskID, a.Reason))
	}
	return out
}
