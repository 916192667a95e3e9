package placement

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseConstraints(t *testing.T) {
	tests := []struct {
		raw     []string
		want    Constraint
		wantErr string
	}{
		{raw: []string{"hostname", "UNIQUE"}, want: Constraint{Field: "hostname", Op: Unique}},
		{raw: []string{"hostname", "unique", ""}, want: Constraint{Field: "hostname", Op: Unique}},
		{raw: []string{"rack", "Cluster"}, want: Constraint{Field: "rack", Op: Cluster}},
		{raw: []string{"rack", "CLUSTER", "r1"}, want: Constraint{Field: "rack", Op: Cluster, Value: "r1"}},
		{raw: []string{"rack", "GROUP_BY"}, want: Constraint{Field: "rack", Op: GroupBy}},
		{raw: []string{"rack", "group_by", "3"}, want: Constraint{Field: "rack", Op: GroupBy, Value: "3", Count: 3}},
		{raw: []string{"rack", "MAX_PER", "2"}, want: Constraint{Field: "rack", Op: MaxPer, Value: "2", Count: 2}},
		{raw: []string{"@zone", "IS", "us-east-1a"}, want: Constraint{Field: "@zone", Op: Is, Value: "us-east-1a"}},
		{raw: []string{"gen", "IS", "0.80"}, want: Constraint{Field: "gen", Op: Is, Value: "0.80"}},
		{raw: []string{"rack"}, wantErr: "Each constraint must have either 2 or 3 fields"},
		{raw: []string{"a", "b", "c", "d"}, wantErr: "Each constraint must have either 2 or 3 fields"},
		{raw: []string{"", "UNIQUE"}, wantErr: "missing field for constraint declaration"},
		{raw: []string{"rack", "NEAR"}, wantErr: "operator must be one of the following"},
		{raw: []string{"hostname", "UNIQUE", "x"}, wantErr: "UNIQUE does not accept a value"},
		{raw: []string{"rack", "GROUP_BY", "x"}, wantErr: "GROUP BY must define an integer value"},
		{raw: []string{"rack", "GROUP_BY", "-1"}, wantErr: "GROUP BY must define an integer value"},
		{raw: []string{"rack", "MAX_PER"}, wantErr: "MAX_PER requires an integer value"},
		{raw: []string{"rack", "MAX_PER", "1.5"}, wantErr: "MAX_PER requires an integer value"},
		{raw: []string{"rack", "LIKE"}, wantErr: "LIKE and UNLIKE require a non-empty"},
		{raw: []string{"rack", "UNLIKE", ""}, wantErr: "LIKE and UNLIKE require a non-empty"},
		{raw: []string{"rack", "LIKE", "r[1-"}, wantErr: "'r[1-' is not a valid regular expression"},
		{raw: []string{"rack", "IS", "a b"}, wantErr: "IS only supports Mesos text and float values"},
	}
	for _, tt := range tests {
		got, err := ParseConstraint(tt.raw)
		if tt.wantErr != "" {
			var ce *ConstraintError
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &ce) {
				t.Errorf("%q: err = %v, want %q", tt.raw, err, tt.wantErr)
			} else if !strings.Contains(err.Error(), strings.Join(tt.raw, `" "`)) {
				t.Errorf("%q: error %q does not name the constraint", tt.raw, err)
			}
			continue
		}
		got.re = nil
		if err != nil || got != tt.want {
			t.Errorf("%q: got %+v, %v; want %+v", tt.raw, got, err, tt.want)
		}
	}
}

func TestParseConstraintsJoinsErrors(t *testing.T) {
	_, err := ParseConstraints([][]string{{"hostname", "UNIQUE"}, {"rack", "FOO"}, {"rack", "LIKE", "("}})
	if err == nil {
		t.Fatal("want error")
	}
	for _, want := range []string{`constraint 1 ["rack" "FOO"]`, `constraint 2 ["rack" "LIKE" "("]`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
}

func TestFormatScalar(t *testing.T) {
	for in, want := range map[float64]string{
		0.80: "0.8", 0.8001: "0.8", 1: "1", 100: "100", 2.5: "2.5",
		0.0625: "0.062", 0.0635: "0.064", -0.0001: "0", 1234.5678: "1234.568",
	} {
		if got := FormatScalar(in); got != want {
			t.Errorf("FormatScalar(%v) = %q, want %q", in, got, want)
		}
	}
}

// opCase places instances on agents (scenario syntax) under one
// constraint and checks the count, where they went and the explanation.
type opCase struct {
	name      string
	agents    []string // "<id> key=value ..."
	existing  []string // "<id> agent=<id> key=value ..."
	con       []string
	instances int
	placed    int
	on        []string // allowed agents; nil = any
	why       string   // substring of the explanation
}

func TestOperators(t *testing.T) {
	three := []string{"a1 rack=r1", "a2 rack=r2", "a3"}
	table := map[Operator][]opCase{
		Unique: {
			{name: "one per agent", agents: three, con: []string{"hostname", "UNIQUE"}, instances: 3, placed: 3},
			{name: "4th unplaced", agents: three, con: []string{"hostname", "UNIQUE"}, instances: 4, placed: 3,
				why: "unplaced 1 of 4: hostname UNIQUE already used on 3 agents"},
			{name: "existing counts", agents: three, existing: []string{"t1 agent=a1"},
				con: []string{"hostname", "UNIQUE"}, instances: 3, placed: 2, on: []string{"a2", "a3"}},
			{name: "attribute", agents: three, con: []string{"rack", "UNIQUE"}, instances: 3, placed: 2,
				on: []string{"a1", "a2"}, why: "rack UNIQUE already used on 2 agents; no rack attribute on 1 agent"},
		},
		Cluster: {
			{name: "empty value one agent", agents: three, con: []string{"hostname", "CLUSTER", ""}, instances: 5, placed: 5},
			{name: "value", agents: three, con: []string{"rack", "CLUSTER", "r2"}, instances: 2, placed: 2, on: []string{"a2"}},
			{name: "no value needs field", agents: three, con: []string{"rack", "CLUSTER"}, instances: 2, placed: 2,
				on: []string{"a1", "a2"}},
			{name: "follows existing", agents: three, existing: []string{"t1 agent=x rack=r1"},
				con: []string{"rack", "CLUSTER"}, instances: 2, placed: 2, on: []string{"a1"}},
			{name: "existing elsewhere", agents: three, existing: []string{"t1 agent=x rack=r9"},
				con: []string{"rack", "CLUSTER"}, instances: 1, placed: 0, why: "rack CLUSTER r9 not matched on 2 agents; no rack attribute on 1 agent"},
		},
		GroupBy: {
			{name: "two racks", agents: three, con: []string{"rack", "GROUP_BY"}, instances: 4, placed: 4, on: []string{"a1", "a2"}},
			{name: "waits for N", agents: three, con: []string{"rack", "GROUP_BY", "3"}, instances: 3, placed: 2,
				why: "rack GROUP_BY 3 not balanced (2 of 3 values used) on 2 agents; no rack attribute on 1 agent"},
		},
		Like: {
			{name: "rack topology", agents: three, con: []string{"rack", "LIKE", "r.*"}, instances: 6, placed: 6,
				on: []string{"a1", "a2"}},
			{name: "full match", agents: three, con: []string{"rack", "LIKE", "r"}, instances: 1, placed: 0,
				why: "rack LIKE r not matched on 3 agents"},
			{name: "hostname", agents: three, con: []string{"hostname", "LIKE", "a[23]"}, instances: 2, placed: 2,
				on: []string{"a2", "a3"}},
		},
		Unlike: {
			{name: "missing accepted", agents: three, con: []string{"rack", "UNLIKE", "r1"}, instances: 4, placed: 4,
				on: []string{"a2", "a3"}},
			{name: "all matched", agents: three[:2], con: []string{"rack", "UNLIKE", "r[12]"}, instances: 1, placed: 0,
				why: "rack UNLIKE r[12] matched on 2 agents"},
		},
		MaxPer: {
			{name: "two per rack", agents: three, con: []string{"rack", "MAX_PER", "2"}, instances: 5, placed: 4,
				on: []string{"a1", "a2"}, why: "rack MAX_PER 2 reached on 2 agents; no rack attribute on 1 agent"},
			{name: "zero", agents: three, con: []string{"hostname", "MAX_PER", "0"}, instances: 1, placed: 0},
		},
		Is: {
			{name: "text", agents: three, con: []string{"rack", "IS", "r1"}, instances: 2, placed: 2, on: []string{"a1"}},
			{name: "scalar", agents: []string{"a1 s:gen=0.8001", "a2 s:gen=0.81", "a3 gen=0.80"},
				con: []string{"gen", "IS", "0.8"}, instances: 4, placed: 4, on: []string{"a1", "a3"}},
			{name: "NaN is text", agents: []string{"a1 x=NaN", "a2 x=nan"}, con: []string{"x", "IS", "NaN"},
				instances: 2, placed: 2, on: []string{"a1"}},
			{name: "missing", agents: three, con: []string{"@region", "IS", "eu"}, instances: 1, placed: 0,
				why: "@region IS eu not matched on 3 agents"},
		},
	}
	for op, cases := range table {
		for _, tc := range cases {
			t.Run(string(op)+"/"+tc.name, func(t *testing.T) { tc.run(t) })
		}
	}
}

func (tc opCase) run(t *testing.T) {
	var offers []Offer
	for _, a := range tc.agents {
		f := strings.Fields(a + " cpus=8 mem=8192")
		offers = append(offers, parseOffer(f[0], kv(f[1:])))
	}
	cs, err := ParseConstraints([][]string{tc.con})
	if err != nil {
		t.Fatal(err)
	}
	req := Request{AppID: "/app", Resources: Resources{CPUs: 1, Mem: 64}, Instances: tc.instances, Constraints: cs}
	for _, e := range tc.existing {
		f := strings.Fields(e)
		req.Existing = append(req.Existing, parseTask(f[0], kv(f[1:])))
	}
	res := Place(offers, req, Options{Seed: 42})
	if len(res.Placements) != tc.placed || res.Unplaced != tc.instances-tc.placed {
		t.Fatalf("placed %d, unplaced %d; want %d: %s", len(res.Placements), res.Unplaced, tc.placed, res.Explanation)
	}
	agents := map[string]bool{}
	for _, p := range res.Placements {
		agents[p.AgentID] = true
		if tc.on != nil && !slices.Contains(tc.on, p.AgentID) {
			t.Errorf("placed on %s, want only %v", p.AgentID, tc.on)
		}
	}
	if tc.con[1] == "CLUSTER" && len(agents) > 1 && tc.con[0] == "hostname" {
		t.Errorf("CLUSTER spread over %v", agents)
	}
	if got := res.Explanation.String(); !strings.Contains(got, tc.why) {
		t.Errorf("explanation %q, want %q", got, tc.why)
	}
}

func TestHandBuiltConstraints(t *testing.T) {
	offers := []Offer{
		parseOffer("a1", kv([]string{"cpus=4", "mem=1024", "rack=r1"})),
		parseOffer("a2", kv([]string{"cpus=4", "mem=1024", "rack=r2"})),
	}
	req := Request{AppID: "/a", Resources: Resources{CPUs: 1}, Instances: 3,
		Constraints: []Constraint{{Field: "rack", Op: "like", Value: "r1"}, {Field: "rack", Op: MaxPer, Value: "2"}}}
	res := Place(offers, req, Options{})
	want := "unplaced 1 of 3: rack LIKE r1 not matched on 1 agent; rack MAX_PER 2 reached on 1 agent"
	if len(res.Placements) != 2 || res.Explanation.String() != want {
		t.Errorf("got %d, %q; want 2, %q", len(res.Placements), res.Explanation, want)
	}
	req.Constraints = []Constraint{{Field: "rack", Op: Like, Value: "("}}
	res = Place(offers, req, Options{})
	want = "unplaced 3 of 3: rack LIKE ( invalid: '(' is not a valid regular expression on 2 agents"
	if res.Explanation.String() != want {
		t.Errorf("got %q, want %q", res.Explanation, want)
	}
}
