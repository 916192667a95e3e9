package master

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berth-platform/berth/internal/wire"
	"github.com/berth-platform/berth/placement"
	"github.com/berth-platform/berth/placement/marathon"
	"github.com/berth-platform/berth/placement/store"
	"github.com/google/uuid"
)

// DefaultDrainSeconds is how long a task with servicePorts stays out of
// the load balancer before it is stopped, unless the app's label
// BERTH_DRAIN_SECONDS says otherwise.
const DefaultDrainSeconds = 2

// offerSet is the agents' free resources during one pass.
type offerSet struct {
	offers []placement.Offer
	index  map[string]int
}

func agentOf(a *agent) placement.Agent {
	attrs := make(map[string]placement.Value, len(a.reg.Attributes))
	for k, v := range a.reg.Attributes {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			attrs[k] = placement.Scalar(f)
		} else {
			attrs[k] = placement.Text(v)
		}
	}
	return placement.Agent{ID: a.reg.ID, Hostname: a.reg.Hostname, Attributes: attrs,
		Zone: a.reg.Attributes["zone"], Region: a.reg.Attributes["region"]}
}

// buildOffers computes every live agent's free resources: its total less
// what its non-terminal tasks (including those being killed) hold.
func (m *Master) buildOffers() *offerSet {
	ids := make([]string, 0, len(m.agents))
	for id, a := range m.agents {
		if !a.lost {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	set := &offerSet{index: map[string]int{}}
	used := map[string][]int{}
	usedRes := map[string]*placement.Resources{}
	for _, t := range m.tasks {
		if terminal(t.State) {
			continue
		}
		r := usedRes[t.AgentID]
		if r == nil {
			r = &placement.Resources{}
			usedRes[t.AgentID] = r
		}
		r.CPUs += t.Spec.Resources.CPUs
		r.Mem += t.Spec.Resources.Mem
		r.Disk += t.Spec.Resources.Disk
		r.GPUs += t.Spec.Resources.GPUs
		used[t.AgentID] = append(used[t.AgentID], t.Ports...)
	}
	for _, id := range ids {
		a := m.agents[id]
		total := toPlacementResources(a.reg.Resources)
		free := total
		if u := usedRes[id]; u != nil {
			free.CPUs -= u.CPUs
			free.Mem -= u.Mem
			free.Disk -= u.Disk
			free.GPUs -= u.GPUs
		}
		free.Ports = removePorts(total.Ports, used[id])
		set.index[id] = len(set.offers)
		set.offers = append(set.offers, placement.Offer{Agent: agentOf(a), Resources: free, Capacity: total})
	}
	return set
}

func toPlacementResources(r wire.Resources) placement.Resources {
	out := placement.Resources{CPUs: r.CPUs, Mem: r.Mem, Disk: r.Disk, GPUs: r.GPUs}
	for _, p := range r.Ports {
		out.Ports = append(out.Ports, placement.PortRange{Begin: p.Begin, End: p.End})
	}
	return out
}

// removePorts returns ranges without the given ports.
func removePorts(ranges []placement.PortRange, ports []int) []placement.PortRange {
	if len(ports) == 0 {
		return append([]placement.PortRange(nil), ranges...)
	}
	sorted := append([]int(nil), ports...)
	sort.Ints(sorted)
	var out []placement.PortRange
	for _, r := range ranges {
		begin := r.Begin
		for _, p := range sorted {
			if p < begin || p > r.End {
				continue
			}
			if p > begin {
				out = append(out, placement.PortRange{Begin: begin, End: p - 1})
			}
			begin = p + 1
		}
		if begin <= r.End {
			out = append(out, placement.PortRange{Begin: begin, End: r.End})
		}
	}
	return out
}

// take subtracts one placed instance from its offer.
func (s *offerSet) take(agentID string, need placement.Resources, ports []int) {
	i, ok := s.index[agentID]
	if !ok {
		return
	}
	o := &s.offers[i]
	o.Resources.CPUs -= need.CPUs
	o.Resources.Mem -= need.Mem
	o.Resources.Disk -= need.Disk
	o.Resources.GPUs -= need.GPUs
	o.Resources.Ports = removePorts(o.Resources.Ports, ports)
}

// hostPortNeeds is the app's Request.HostPorts.
func hostPortNeeds(app *marathon.App) []int {
	switch app.NetworkMode() {
	case marathon.NetworkHost:
		ports := make([]int, len(app.PortDefinitions))
		for i, pd := range app.PortDefinitions {
			ports[i] = pd.Port
		}
		return placement.HostPortsFor(placement.HostNetwork, ports, app.RequirePorts)
	case marathon.NetworkBridge, marathon.NetworkContainer:
		network := placement.BridgeNetwork
		if app.NetworkMode() == marathon.NetworkContainer {
			network = placement.UserNetwork
		}
		var ports []int
		if app.Container != nil {
			for _, pm := range app.Container.PortMappings {
				if pm.HostPort == nil {
					ports = append(ports, -1)
				} else {
					ports = append(ports, *pm.HostPort)
				}
			}
		}
		return placement.HostPortsFor(network, ports, false)
	}
	return nil
}

// launch places up to n new tasks of the app and records them as staging.
func (m *Master) launch(as *appState, n int, live []*Task, offers *offerSet, now time.Time) []store.Op {
	app := as.rec.App
	need := placement.Resources{CPUs: app.CPUs, Mem: app.Mem, Disk: app.Disk, GPUs: float64(app.GPUs)}
	want := n
	n, why := m.appsRoom(need, n) // DRF with the job service (jobs_drf.go)
	if n == 0 {
		as.queue.lastAt, as.queue.explanation = now, &placement.Explanation{Requested: want, Blocked: why}
		return nil
	}
	cons, _ := placement.ParseConstraints(app.Constraints)
	existing := make([]placement.Task, 0, len(live))
	for _, t := range live {
		existing = append(existing, m.placementTask(t))
	}
	req := placement.Request{AppID: app.ID, Resources: need, Instances: n, Constraints: cons,
		HostPorts: hostPortNeeds(app), Existing: existing}
	usable, leftOut := m.roleOffers(app, offers.offers)
	res := placement.Place(usable, req, placement.Options{Seed: m.cfg.Seed + m.passes})
	as.queue.lastAt = now
	if n < want && res.Unplaced == 0 {
		as.queue.explanation = &placement.Explanation{Requested: want, Placed: n, Blocked: why}
	} else if res.Unplaced > 0 {
		exp := res.Explanation
		if leftOut > 0 {
			exp.Agents += leftOut
			exp.Reasons = append(exp.Reasons, placement.Reason{Text: roleReason(app), Agents: leftOut})
		}
		as.queue.explanation = &exp
	} else {
		as.queue.explanation = nil
	}
	var ops []store.Op
	for _, p := range res.Placements {
		t := m.newTask(as, p, now)
		offers.take(p.AgentID, need, t.Ports)
		m.addTask(as, t)
		ops = append(ops, taskOp(t))
	}
	as.queue.count = want - len(res.Placements)
	if as.queue.count == 0 {
		as.queue = queueInfo{}
	}
	return ops
}

func (m *Master) addTask(as *appState, t *Task) {
	as.tasks[t.ID] = t
	m.indexTask(t)
	m.notifyAgent(t.AgentID)
}

// newTask builds the task record and its TaskSpec for one placement.
func (m *Master) newTask(as *appState, p placement.Placement, now time.Time) *Task {
	app := as.rec.App
	t := &Task{ID: marathon.SafeID(app.ID) + "." + uuid.NewString(), AppID: app.ID, AgentID: p.AgentID,
		Host: p.Hostname, ServicePorts: app.ServicePorts(), State: wire.TaskStaging, Version: app.Version,
		Generation: as.rec.Generation, StagedAt: ts(now)}
	t.Readiness = initialReadiness(app, t.ID)
	spec := wire.TaskSpec{TaskID: t.ID, AppID: app.ID, AppVersion: app.Version, Cmd: app.Cmd, Args: app.Args,
		User: app.User, Env: app.Env, Labels: app.Labels,
		Resources:              wire.Resources{CPUs: app.CPUs, Mem: app.Mem, Disk: app.Disk, GPUs: float64(app.GPUs)},
		KillGracePeriodSeconds: 3, DrainSeconds: drainSeconds(app)}
	if app.TaskKillGracePeriodSeconds != nil {
		spec.KillGracePeriodSeconds = float64(*app.TaskKillGracePeriodSeconds)
	}
	spec.Ports = taskPorts(app, p.HostPorts)
	spec.Fetch = taskFetch(app)
	for _, tp := range spec.Ports {
		if tp.HostPort != 0 {
			t.Ports = append(t.Ports, tp.HostPort)
		}
	}
	spec.Container = containerSpec(app)
	for _, hc := range app.HealthChecks {
		spec.HealthChecks = append(spec.HealthChecks, healthSpec(hc))
	}
	t.Spec = spec
	return t
}

func drainSeconds(app *marathon.App) float64 {
	if v, ok := app.Labels["BERTH_DRAIN_SECONDS"]; ok {
		if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 {
			return f
		}
	}
	if len(app.ServicePorts()) == 0 {
		return 0
	}
	return DefaultDrainSeconds
}

// taskPorts lays the placed host ports onto the app's port definitions or
// mappings, in index order.
func taskPorts(app *marathon.App, placed []int) []wire.TaskPort {
	var out []wire.TaskPort
	next := func() int {
		if len(placed) == 0 {
			return 0
		}
		p := placed[0]
		placed = placed[1:]
		return p
	}
	if app.NetworkMode() == marathon.NetworkHost {
		for i, pd := range app.PortDefinitions {
			out = append(out, wire.TaskPort{Index: i, Name: pd.Name, Protocol: pd.Protocol, HostPort: next(),
				ServicePort: pd.Port, Labels: pd.Labels})
		}
		return out
	}
	if app.Container == nil {
		return nil
	}
	for i, pm := range app.Container.PortMappings {
		tp := wire.TaskPort{Index: i, Name: pm.Name, Protocol: pm.Protocol, ContainerPort: pm.ContainerPort,
			ServicePort: pm.ServicePort, Labels: pm.Labels}
		if pm.HostPort != nil || app.NetworkMode() == marathon.NetworkBridge {
			tp.HostPort = next()
		}
		out = append(out, tp)
	}
	return out
}

func containerSpec(app *marathon.App) *wire.Container {
	c := app.Container
	if c == nil || c.Docker == nil {
		return nil
	}
	out := &wire.Container{Type: "DOCKER", Image: c.Docker.Image, Privileged: c.Docker.Privileged,
		ForcePullImage: c.Docker.ForcePullImage}
	switch app.NetworkMode() {
	case marathon.NetworkBridge:
		out.Network = "BRIDGE"
	case marathon.NetworkContainer:
		out.Network, out.NetworkName = "USER", app.Networks[0].Name
	default:
		out.Network = "HOST"
	}
	for _, p := range c.Docker.Parameters {
		out.Parameters = append(out.Parameters, wire.KeyValue{Key: p.Key, Value: p.Value})
	}
	for _, v := range c.Volumes {
		if v.HostPath != "" {
			out.Volumes = append(out.Volumes, wire.Volume{HostPath: v.HostPath, ContainerPath: v.ContainerPath, Mode: v.Mode})
		}
	}
	return out
}

func healthSpec(hc marathon.HealthCheck) wire.HealthCheck {
	out := wire.HealthCheck{Protocol: strings.TrimPrefix(hc.Protocol, "MESOS_"), Path: hc.Path,
		GracePeriodSeconds: hc.GracePeriodSeconds, IntervalSeconds: hc.IntervalSeconds,
		TimeoutSeconds: hc.TimeoutSeconds, MaxConsecutiveFailures: hc.MaxConsecutiveFailures,
		IgnoreHTTP1xx: hc.IgnoreHTTP1xx}
	if hc.PortIndex != nil {
		out.PortIndex = *hc.PortIndex
	}
	if hc.Port != nil {
		out.Port = *hc.Port
	}
	if hc.Command != nil {
		out.Command = hc.Command.Value
	}
	return out
}
