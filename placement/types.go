package placement

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Value is an agent attribute: Mesos text or scalar.
type Value struct {
	Text     string
	Scalar   float64
	IsScalar bool
}

// Text returns a text attribute value.
func Text(s string) Value { return Value{Text: s} }

// Scalar returns a scalar attribute value.
func Scalar(f float64) Value { return Value{Scalar: f, IsScalar: true} }

// String is the form constraints compare against: text as-is, a scalar with
// at most three decimals and no trailing zeros (Marathon's "0.###").
func (v Value) String() string {
	if v.IsScalar {
		return FormatScalar(v.Scalar)
	}
	return v.Text
}

// FormatScalar prints f with at most three decimals (round half to even),
// trailing zeros dropped: 0.8, 0.80 and 0.8001 all print as "0.8".
func FormatScalar(f float64) string {
	s := strconv.FormatFloat(f, 'f', 3, 64)
	s = strings.TrimRight(s, "0")
	s = strings.TrimSuffix(s, ".")
	if s == "-0" {
		s = "0"
	}
	return s
}

// PortRange is an inclusive range of host ports.
type PortRange struct {
	Begin, End int
}

// DefaultPorts is the host port range of an agent started without a ports
// resource: [31000-32000].
func DefaultPorts() []PortRange { return []PortRange{{Begin: 31000, End: 32000}} }

// Resources are amounts of cpus, mem (MiB), disk (MiB) and gpus, plus host
// port ranges. A nil Ports means no ports.
type Resources struct {
	CPUs, Mem, Disk, GPUs float64
	Ports                 []PortRange
}

// Agent identifies a node and carries what constraints look at. Fields:
// `hostname` and `@hostname` resolve to Hostname, `@zone` and `@region` to
// Zone and Region (the Mesos fault domain; empty means absent), anything else
// to Attributes.
type Agent struct {
	ID         string
	Hostname   string
	Zone       string
	Region     string
	Attributes map[string]Value
}

// Offer is an agent's unreserved resources at one moment. Resources that
// existing tasks hold are already subtracted by the caller. Capacity is the
// agent's total (used to measure load for spread and bin-pack); zero means
// "same as Resources".
type Offer struct {
	Agent
	Resources Resources
	Capacity  Resources
}

// TaskState is the Marathon condition of a task, as far as scale-down cares.
type TaskState int

// Task states in scale-down kill order (TaskUnreachableInactive is never
// chosen and never counted).
const (
	TaskUnreachable TaskState = iota
	TaskStaging
	TaskStarting
	TaskRunning
	TaskOther
	TaskUnreachableInactive
)

// Task is an existing instance of an app.
type Task struct {
	ID string
	// Agent is the agent the task runs on. Only ID is needed when the agent
	// is among the offers; otherwise Hostname/Zone/Region/Attributes give
	// the values constraints count.
	Agent     Agent
	HostPorts []int
	State     TaskState
	StartedAt time.Time
}

// Strategy chooses among feasible agents.
type Strategy string

// Strategies. The empty Strategy means Spread.
const (
	Spread  Strategy = "spread"  // fewest tasks of this app, then least loaded
	BinPack Strategy = "binpack" // most loaded agent that still fits
)

// Request asks for Instances new instances of one app.
type Request struct {
	AppID string
	// Role competes for offers in PlaceAll's fair share; "" is "*".
	Role string
	// Resources is per instance; its Ports field is ignored (see HostPorts).
	Resources Resources
	// Instances is how many new instances to place now.
	Instances   int
	Constraints []Constraint
	// HostPorts are the host ports one instance takes: 0 = any free port of
	// the agent's ranges, >0 = exactly that port. See HostPortsFor.
	HostPorts []int
	// Existing are the app's current tasks: UNIQUE, CLUSTER, GROUP_BY and
	// MAX_PER count them, and their host ports are taken on their agents.
	Existing []Task
	Strategy Strategy
}

// Network is an app's networking mode, for HostPortsFor.
type Network int

// Networking modes.
const (
	HostNetwork   Network = iota // portDefinitions
	BridgeNetwork                // portMappings with hostPort
	UserNetwork                  // portMappings; only those with a hostPort take one
)

// HostPortsFor turns Marathon port declarations into Request.HostPorts.
// HostNetwork: ports are the portDefinitions' ports (the caller supplies the
// default single definition); each takes a host port, literally when
// requirePorts and non-zero, any otherwise. BridgeNetwork: ports are the
// mappings' hostPorts (0 = any). UserNetwork: like bridge, but a negative
// value means "no hostPort" and takes none.
func HostPortsFor(network Network, ports []int, requirePorts bool) []int {
	out := make([]int, 0, len(ports))
	for _, p := range ports {
		switch {
		case network == HostNetwork && !requirePorts:
			out = append(out, 0)
		case p < 0 && network == UserNetwork:
		case p < 0:
			out = append(out, 0)
		default:
			out = append(out, p)
		}
	}
	return out
}

// Options tune a placement run.
type Options struct {
	// Rand breaks ties; nil means a PCG source seeded with Seed. The same
	// inputs and the same source state give the same result.
	Rand rand.Source
	Seed uint64
	// Roles configures fair share in PlaceAll (and quotas in Place); roles
	// not listed have weight 1 and no quota.
	Roles map[string]Role
}

// Role is one role's fair-share configuration.
type Role struct {
	// Weight divides the role's dominant share; 0 means 1.
	Weight float64
	// Quota caps what the role may hold (Used plus new placements) per
	// dimension; a zero dimension is unlimited.
	Quota Resources
	// Used is what the role already holds outside these offers; it counts
	// toward both its share and its quota.
	Used Resources
}

// Placement is one placed instance.
type Placement struct {
	Instance  int // 0-based among this request's new instances
	AgentID   string
	Hostname  string
	HostPorts []int // in the order of Request.HostPorts
}

// Result is the outcome of one Request.
type Result struct {
	AppID       string
	Placements  []Placement
	Unplaced    int
	Explanation Explanation
}
