package placement

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the expected output of testdata/*.txt")

// Scenario files (testdata/*.txt) hold cases. A case is a command line
// (place, placeall or kill, with key=value options), input lines, a line
// "----", and the expected output up to the next blank line. Lines starting
// with # between cases are comments. Input lines:
//
//	agent <id> [host=..] [cpus=..] [mem=..] [disk=..] [gpus=..] [ports=31000-31005,31010-31010|none]
//	      [cap.cpus=..] [cap.mem=..] [@zone=..] [@region=..] [<attr>=<text>] [s:<attr>=<scalar>]
//	request app=<id> [role=..] [cpus=..] [mem=..] [disk=..] [gpus=..] instances=N [ports=0,8080] [strategy=binpack]
//	constraint <field> <OP> [value]       (applies to the last request; with kill, to the app)
//	existing <task> agent=<id> [ports=..] [host=.. and attributes, for agents not offered]
//	task <id> agent=<id> [state=unreachable|staging|starting|running] [started=<seconds>] [attributes]
//	role <name> [weight=..] [quota.<dim>=..] [used.<dim>=..]
type scenario struct {
	cmd      string
	opts     map[string]string
	offers   []Offer
	reqs     []Request
	tasks    []Task
	rawCons  [][][]string // per request (or one list for kill)
	roles    map[string]Role
	expected []string
	line     int
}

func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario files: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) { runScenarioFile(t, file) })
	}
}

func runScenarioFile(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	var out []string
	for i := 0; i < len(lines); {
		l := lines[i]
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			out = append(out, l)
			i++
			continue
		}
		sc, next, err := parseScenario(lines, i)
		if err != nil {
			t.Fatalf("%s:%d: %v", file, i+1, err)
		}
		got := sc.run(t)
		out = append(out, lines[i:sc.line+1]...)
		out = append(out, got...)
		if !*update && strings.Join(got, "\n") != strings.Join(sc.expected, "\n") {
			t.Errorf("%s:%d: %s\ngot:\n%s\nwant:\n%s", file, i+1, l,
				strings.Join(got, "\n"), strings.Join(sc.expected, "\n"))
		}
		i = next
	}
	if *update {
		if err := os.WriteFile(file, []byte(strings.Join(out, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// parseScenario reads the case starting at lines[i]; it returns the index
// after the case.
func parseScenario(lines []string, i int) (*scenario, int, error) {
	f := strings.Fields(lines[i])
	sc := &scenario{cmd: f[0], opts: kv(f[1:]), roles: map[string]Role{}}
	for i++; i < len(lines) && lines[i] != "----"; i++ {
		if err := sc.parseLine(strings.Fields(lines[i])); err != nil {
			return nil, 0, fmt.Errorf("line %d: %w", i+1, err)
		}
	}
	if i == len(lines) {
		return nil, 0, fmt.Errorf("missing ----")
	}
	sc.line = i
	for i++; i < len(lines) && strings.TrimSpace(lines[i]) != ""; i++ {
		sc.expected = append(sc.expected, lines[i])
	}
	return sc, i, nil
}

func kv(fields []string) map[string]string {
	m := make(map[string]string)
	for _, f := range fields {
		k, v, _ := strings.Cut(f, "=")
		m[k] = v
	}
	return m
}

func num(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && s != "" {
		panic(fmt.Sprintf("bad number %q", s))
	}
	return f
}

func ints(s string) []int {
	var out []int
	for _, p := range strings.Split(s, ",") {
		if p != "" {
			out = append(out, int(num(p)))
		}
	}
	return out
}

func (sc *scenario) parseLine(f []string) error {
	if len(f) == 0 {
		return nil
	}
	switch f[0] {
	case "agent":
		sc.offers = append(sc.offers, parseOffer(f[1], kv(f[2:])))
	case "request":
		sc.reqs = append(sc.reqs, parseRequest(kv(f[1:])))
		sc.rawCons = append(sc.rawCons, nil)
	case "constraint":
		if len(sc.rawCons) == 0 {
			sc.rawCons = append(sc.rawCons, nil)
		}
		last := len(sc.rawCons) - 1
		sc.rawCons[last] = append(sc.rawCons[last], f[1:])
	case "existing", "task":
		task := parseTask(f[1], kv(f[2:]))
		if f[0] == "task" {
			sc.tasks = append(sc.tasks, task)
		} else if len(sc.reqs) > 0 {
			r := &sc.reqs[len(sc.reqs)-1]
			r.Existing = append(r.Existing, task)
		}
	case "role":
		m := kv(f[2:])
		sc.roles[f[1]] = Role{Weight: num(m["weight"]), Quota: dims(m, "quota."), Used: dims(m, "used.")}
	default:
		return fmt.Errorf("unknown line %q", f[0])
	}
	return nil
}

func dims(m map[string]string, prefix string) Resources {
	return Resources{CPUs: num(m[prefix+"cpus"]), Mem: num(m[prefix+"mem"]),
		Disk: num(m[prefix+"disk"]), GPUs: num(m[prefix+"gpus"])}
}

func parsePorts(s string) []PortRange {
	if s == "none" {
		return nil
	}
	var out []PortRange
	for _, r := range strings.Split(s, ",") {
		b, e, ok := strings.Cut(r, "-")
		if !ok {
			e = b
		}
		out = append(out, PortRange{Begin: int(num(b)), End: int(num(e))})
	}
	return out
}

// parseAgent reads host, @zone, @region and attributes from m.
func parseAgent(id string, m map[string]string) Agent {
	a := Agent{ID: id, Hostname: id, Attributes: map[string]Value{}}
	for k, v := range m {
		switch {
		case k == "host":
			a.Hostname = v
		case k == "@zone":
			a.Zone = v
		case k == "@region":
			a.Region = v
		case strings.HasPrefix(k, "s:"):
			a.Attributes[k[2:]] = Scalar(num(v))
		case strings.ContainsAny(k, ".") || isResourceKey(k):
		default:
			a.Attributes[k] = Text(v)
		}
	}
	return a
}

func isResourceKey(k string) bool {
	switch k {
	case "cpus", "mem", "disk", "gpus", "ports", "agent", "state", "started":
		return true
	}
	return false
}

func parseOffer(id string, m map[string]string) Offer {
	o := Offer{Agent: parseAgent(id, m), Resources: dims(m, ""), Capacity: dims(m, "cap.")}
	o.Resources.Ports = DefaultPorts()
	if p, ok := m["ports"]; ok {
		o.Resources.Ports = parsePorts(p)
	}
	return o
}

func parseRequest(m map[string]string) Request {
	return Request{
		AppID: m["app"], Role: m["role"], Resources: dims(m, ""),
		Instances: int(num(m["instances"])), HostPorts: ints(m["ports"]),
		Strategy: Strategy(m["strategy"]),
	}
}

func parseTask(id string, m map[string]string) Task {
	t := Task{ID: id, Agent: parseAgent(m["agent"], m), HostPorts: ints(m["ports"]),
		StartedAt: time.Unix(int64(num(m["started"])), 0).UTC()}
	switch m["state"] {
	case "unreachable":
		t.State = TaskUnreachable
	case "staging":
		t.State = TaskStaging
	case "starting":
		t.State = TaskStarting
	case "inactive":
		t.State = TaskUnreachableInactive
	case "", "running":
		t.State = TaskRunning
	default:
		t.State = TaskOther
	}
	return t
}

func (sc *scenario) run(t *testing.T) []string {
	for k := range sc.rawCons {
		cs, err := ParseConstraints(sc.rawCons[k])
		if err != nil {
			return strings.Split("error: "+err.Error(), "\n")
		}
		if k < len(sc.reqs) {
			sc.reqs[k].Constraints = cs
		}
	}
	opts := Options{Seed: uint64(num(sc.opts["seed"])), Roles: sc.roles}
	switch sc.cmd {
	case "place", "placeall":
		return renderResults(PlaceAll(sc.offers, sc.reqs, opts))
	case "kill":
		var cs []Constraint
		if len(sc.rawCons) > 0 {
			cs, _ = ParseConstraints(sc.rawCons[0])
		}
		var out []string
		for _, v := range SelectKills(sc.tasks, int(num(sc.opts["n"])), KillSelection(sc.opts["selection"]), cs) {
			out = append(out, "kill "+v.ID)
		}
		return out
	}
	t.Fatalf("unknown command %q", sc.cmd)
	return nil
}

func renderResults(res []Result) []string {
	var out []string
	for _, r := range res {
		for _, p := range r.Placements {
			line := fmt.Sprintf("%s#%d %s", r.AppID, p.Instance, p.AgentID)
			if len(p.HostPorts) > 0 {
				line += " " + strings.Trim(strings.Join(strings.Fields(fmt.Sprint(p.HostPorts)), ","), "[]")
			}
			out = append(out, line)
		}
		out = append(out, r.AppID+": "+r.Explanation.String())
	}
	return out
}
