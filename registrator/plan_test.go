package registrator

import (
	"reflect"
	"testing"
)

// A Berth task registered with its check passing (its agent reported it
// healthy) is not registered again when the report goes away (an agent
// restart); any other difference still re-registers.
func TestPlanKeepsHealthyRegistration(t *testing.T) {
	mk := func(task, status, interval string) Service {
		s := Service{ID: "a", Name: "web", Meta: map[string]string{MetaOwner: "me", MetaTask: task},
			Check: &Check{HTTP: "http://10.0.0.1:31000/", Interval: interval, Status: status}}
		s.Meta[MetaFingerprint] = Fingerprint(s)
		return s
	}
	tests := []struct {
		name                string
		desired, registered Service
		wantKept, wantReg   bool
	}{
		{"healthy report gone: kept", mk("web.1", "", "1s"), mk("web.1", "passing", "1s"), true, false},
		{"healthy report back: nothing to do", mk("web.1", "passing", "1s"), mk("web.1", "passing", "1s"), false, false},
		{"first healthy report: registered passing", mk("web.1", "passing", "1s"), mk("web.1", "", "1s"), false, true},
		{"another change as well: registered", mk("web.1", "", "2s"), mk("web.1", "passing", "1s"), false, true},
		{"not a Berth task: registered", mk("", "", "1s"), mk("", "passing", "1s"), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := Plan([]Service{tt.desired}, []Service{tt.registered}, PlanOptions{Owner: "me"})
			if got := len(ch.Kept) == 1; got != tt.wantKept {
				t.Errorf("kept %v, want %v", ch.Kept, tt.wantKept)
			}
			if got := len(ch.Register) == 1; got != tt.wantReg {
				t.Errorf("register %v, want %v", ch.Register, tt.wantReg)
			}
			if len(ch.Deregister) != 0 {
				t.Errorf("deregister %v", ch.Deregister)
			}
		})
	}
}

func TestPlan(t *testing.T) {
	mk := func(id, container, fp string) Service {
		return Service{ID: id, Name: "n", Meta: map[string]string{MetaOwner: "me", MetaContainer: container, MetaFingerprint: fp}}
	}
	foreign := Service{ID: "x", Meta: map[string]string{MetaOwner: "someone-else", MetaContainer: "c9"}}
	unmarked := Service{ID: "consul"}
	tests := []struct {
		name                   string
		desired, registered    []Service
		opts                   PlanOptions
		register, deregister   []string
		kept                   []string
		registerWhy, removeWhy string
	}{
		{
			name:     "missing services are registered",
			desired:  []Service{mk("b", "c1", "1"), mk("a", "c1", "1")},
			register: []string{"a", "b"}, registerWhy: "not registered",
		},
		{
			name:       "unchanged services are left alone",
			desired:    []Service{mk("a", "c1", "1")},
			registered: []Service{mk("a", "c1", "1")},
		},
		{
			name:       "a different fingerprint re-registers",
			desired:    []Service{mk("a", "c1", "2")},
			registered: []Service{mk("a", "c1", "1")},
			register:   []string{"a"}, registerWhy: "registration differs",
		},
		{
			name:       "mine and not desired: deregistered",
			registered: []Service{mk("a", "c1", "1")},
			opts:       PlanOptions{Mine: map[string]bool{"a": true}},
			deregister: []string{"a"}, removeWhy: "no running container wants it",
		},
		{
			name:       "not mine and no -cleanup: kept",
			registered: []Service{mk("a", "c1", "1")},
			kept:       []string{"a"},
		},
		{
			name:       "-cleanup removes owned leftovers",
			registered: []Service{mk("a", "c1", "1")},
			opts:       PlanOptions{Cleanup: true},
			deregister: []string{"a"}, removeWhy: "dangling from an earlier run (-cleanup)",
		},
		{
			name:       "-cleanup held while an agent's task list is unread: kept with the reason",
			registered: []Service{mk("a", "c1", "1"), mk("b", "c2", "1")},
			opts:       PlanOptions{Cleanup: true, HoldCleanup: "agents unread", Mine: map[string]bool{"b": true}},
			kept:       []string{"a"},
			deregister: []string{"b"}, removeWhy: "no running container wants it",
		},
		{
			name:       "-cleanup never touches services of another owner or unmarked ones",
			registered: []Service{foreign, unmarked},
			opts:       PlanOptions{Cleanup: true, Mine: map[string]bool{"x": true, "consul": true}},
		},
		{
			name:       "a registered service of another owner with a desired ID is taken over",
			desired:    []Service{mk("x", "c1", "1")},
			registered: []Service{foreign},
			register:   []string{"x"}, registerWhy: "not registered",
		},
		{
			name:       "on-success keep wins over mine and cleanup",
			registered: []Service{mk("a", "c1", "1"), mk("b", "c2", "1")},
			opts: PlanOptions{Cleanup: true, Mine: map[string]bool{"a": true, "b": true},
				Keep: map[string]string{"c1": "exited with code 3"}},
			deregister: []string{"b"},
			kept:       []string{"a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Owner = "me"
			ch := Plan(tt.desired, tt.registered, tt.opts)
			ids := func(as []Action) []string {
				var out []string
				for _, a := range as {
					out = append(out, a.Service.ID)
				}
				return out
			}
			if got := ids(ch.Register); !reflect.DeepEqual(got, tt.register) {
				t.Errorf("register %q, want %q", got, tt.register)
			}
			if got := ids(ch.Deregister); !reflect.DeepEqual(got, tt.deregister) {
				t.Errorf("deregister %q, want %q", got, tt.deregister)
			}
			if got := ids(ch.Kept); !reflect.DeepEqual(got, tt.kept) {
				t.Errorf("kept %q, want %q", got, tt.kept)
			}
			for _, a := range ch.Register {
				if tt.registerWhy != "" && a.Reason != tt.registerWhy {
					t.Errorf("register %s: reason %q, want %q", a.Service.ID, a.Reason, tt.registerWhy)
				}
			}
			for _, a := range ch.Deregister {
				if tt.removeWhy != "" && a.Reason != tt.removeWhy {
					t.Errorf("deregister %s: reason %q, want %q", a.Service.ID, a.Reason, tt.removeWhy)
				}
			}
			for _, a := range append(ch.Kept, ch.Register...) {
				if a.Reason == "" {
					t.Errorf("%s: a decision without a reason", a.Service.ID)
				}
			}
			if ch.Empty() != (len(tt.register)+len(tt.deregister) == 0) {
				t.Errorf("Empty() = %v", ch.Empty())
			}
		})
	}
}
