package agent

import (
	"strconv"
	"strings"

	"github.com/berth-platform/berth/internal/wire"
)

// Docker label keys the agent puts on every container (DESIGN.md).
const (
	LabelTaskID     = "berth.task-id"
	LabelAppID      = "berth.app-id"
	LabelAppVersion = "berth.app-version"
	LabelAgentID    = "berth.agent-id"
	// LabelClusterID is the id of the cluster (the master's store) the
	// task belongs to; the agent and the registrator act only on their
	// own cluster's tasks.
	LabelClusterID = "berth.cluster-id"
)

// ContainerName is the Docker name of a task's container.
func ContainerName(taskID string) string { return "berth-" + taskID }

// ContainerLabels computes the labels of a task's container: the app's own
// labels copied unchanged, then Berth's (which win on a clash, so an app can
// never pretend to be another task or agent).
func ContainerLabels(spec wire.TaskSpec, agentID string) map[string]string {
	l := make(map[string]string, len(spec.Labels)+8)
	for k, v := range spec.Labels {
		l[k] = v
	}
	l[LabelTaskID] = spec.TaskID
	l[LabelAppID] = spec.AppID
	l[LabelAppVersion] = spec.AppVersion
	l[LabelAgentID] = agentID
	hostNet := spec.Container == nil || strings.EqualFold(spec.Container.Network, "HOST")
	for i, p := range spec.Ports {
		pre := "berth.port." + strconv.Itoa(i) + "."
		l[pre+"service"] = strconv.Itoa(p.ServicePort)
		cp := p.ContainerPort
		if hostNet || cp == 0 {
			cp = p.HostPort
		}
		l[pre+"container"] = strconv.Itoa(cp)
		if p.Name != "" {
			l[pre+"name"] = p.Name
		}
	}
	for j, hc := range spec.HealthChecks {
		hc = HealthCheckDefaults(hc)
		pre := "berth.health." + strconv.Itoa(j) + "."
		l[pre+"protocol"] = hc.Protocol
		if hc.Path != "" {
			l[pre+"path"] = hc.Path
		}
		l[pre+"port-index"] = strconv.Itoa(hc.PortIndex)
		l[pre+"interval"] = strconv.Itoa(hc.IntervalSeconds)
		l[pre+"timeout"] = strconv.Itoa(hc.TimeoutSeconds)
		l[pre+"grace"] = strconv.Itoa(hc.GracePeriodSeconds)
		l[pre+"max-failures"] = strconv.Itoa(hc.MaxConsecutiveFailures)
	}
	return l
}

// TaskLabels are ContainerLabels plus the cluster id (when known): the
// labels of a container, and what the task list shows for a process task.
func TaskLabels(spec wire.TaskSpec, agentID, clusterID string) map[string]string {
	l := ContainerLabels(spec, agentID)
	if clusterID != "" {
		l[LabelClusterID] = clusterID
	}
	return l
}

// HealthCheckDefaults fills Marathon's defaults (digest §1.8.2) for fields
// the master left at zero: protocol HTTP, path "/" for HTTP(S), interval 60,
// timeout 20, grace 300. MaxConsecutiveFailures 0 means "never kill" in
// Marathon, so a zero stays zero.
func HealthCheckDefaults(hc wire.HealthCheck) wire.HealthCheck {
	hc.Protocol = strings.ToUpper(hc.Protocol)
	if hc.Protocol == "" {
		hc.Protocol = "HTTP"
	}
	if hc.Path == "" && (strings.HasSuffix(hc.Protocol, "HTTP") || strings.HasSuffix(hc.Protocol, "HTTPS")) {
		hc.Path = "/"
	}
	if hc.IntervalSeconds <= 0 {
		hc.IntervalSeconds = 60
	}
	if hc.TimeoutSeconds <= 0 {
		hc.TimeoutSeconds = 20
	}
	if hc.GracePeriodSeconds < 0 {
		hc.GracePeriodSeconds = 300
	}
	return hc
}
