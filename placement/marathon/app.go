package marathon

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Networking modes, Marathon 1.5+ names.
const (
	NetworkHost      = "host"
	NetworkBridge    = "container/bridge"
	NetworkContainer = "container"
)

// Kill selections.
const (
	YoungestFirst = "YOUNGEST_FIRST"
	OldestFirst   = "OLDEST_FIRST"
)

// App is a complete, defaulted, canonical app definition. It marshals in
// Marathon 1.5+ shape (networks + container.portMappings) plus the legacy
// `ports` list of service ports.
type App struct {
	ID                         string                     `json:"id"`
	Cmd                        string                     `json:"cmd,omitempty"`
	Args                       []string                   `json:"args,omitempty"`
	User                       string                     `json:"user,omitempty"`
	Env                        map[string]string          `json:"env"`
	Instances                  int                        `json:"instances"`
	CPUs                       float64                    `json:"cpus"`
	Mem                        float64                    `json:"mem"`
	Disk                       float64                    `json:"disk"`
	GPUs                       int                        `json:"gpus"`
	Executor                   string                     `json:"executor"`
	Constraints                [][]string                 `json:"constraints"`
	AcceptedResourceRoles      []string                   `json:"acceptedResourceRoles,omitempty"`
	URIs                       []string                   `json:"uris"`
	Fetch                      []Fetch                    `json:"fetch"`
	StoreURLs                  []string                   `json:"storeUrls"`
	Ports                      []int                      `json:"ports"`
	PortDefinitions            []PortDefinition           `json:"portDefinitions"`
	RequirePorts               bool                       `json:"requirePorts"`
	BackoffSeconds             int                        `json:"backoffSeconds"`
	BackoffFactor              float64                    `json:"backoffFactor"`
	MaxLaunchDelaySeconds      int                        `json:"maxLaunchDelaySeconds"`
	Container                  *Container                 `json:"container,omitempty"`
	Networks                   []Network                  `json:"networks"`
	HealthChecks               []HealthCheck              `json:"healthChecks"`
	ReadinessChecks            []json.RawMessage          `json:"readinessChecks"`
	Dependencies               []string                   `json:"dependencies"`
	UpgradeStrategy            UpgradeStrategy            `json:"upgradeStrategy"`
	Labels                     map[string]string          `json:"labels"`
	TaskKillGracePeriodSeconds *int                       `json:"taskKillGracePeriodSeconds,omitempty"`
	KillSelection              string                     `json:"killSelection"`
	UnreachableStrategy        UnreachableStrategy        `json:"unreachableStrategy"`
	Residency                  json.RawMessage            `json:"residency,omitempty"`
	Secrets                    map[string]json.RawMessage `json:"secrets"`
	Version                    string                     `json:"version,omitempty"`
	VersionInfo                *VersionInfo               `json:"versionInfo,omitempty"`
}

// Fetch is one Mesos fetcher URI (accepted and stored).
type Fetch struct {
	URI        string `json:"uri"`
	Extract    bool   `json:"extract"`
	Executable bool   `json:"executable"`
	Cache      bool   `json:"cache"`
	DestPath   string `json:"destPath,omitempty"`
}

// PortDefinition is a host-networking port; Port is its servicePort (and
// its host port when requirePorts is set).
type PortDefinition struct {
	Port     int               `json:"port"`
	Protocol string            `json:"protocol"`
	Name     string            `json:"name,omitempty"`
	Labels   map[string]string `json:"labels"`
}

// Container is the app's container.
type Container struct {
	Type         string        `json:"type"`
	Docker       *Docker       `json:"docker,omitempty"`
	Volumes      []Volume      `json:"volumes"`
	PortMappings []PortMapping `json:"portMappings,omitempty"`
}

// Docker is container.docker.
type Docker struct {
	Image          string      `json:"image"`
	Privileged     bool        `json:"privileged"`
	Parameters     []Parameter `json:"parameters"`
	ForcePullImage bool        `json:"forcePullImage"`
}

// Parameter is one docker run parameter.
type Parameter struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Volume is a container volume; only host volumes can be run by Berth.
type Volume struct {
	ContainerPath string          `json:"containerPath"`
	HostPath      string          `json:"hostPath,omitempty"`
	Mode          string          `json:"mode"`
	Persistent    json.RawMessage `json:"persistent,omitempty"`
	External      json.RawMessage `json:"external,omitempty"`
	Secret        json.RawMessage `json:"secret,omitempty"`
}

// PortMapping is a container (bridge or user network) port mapping.
// HostPort nil means no host port (user networks only).
type PortMapping struct {
	ContainerPort int               `json:"containerPort"`
	HostPort      *int              `json:"hostPort,omitempty"`
	ServicePort   int               `json:"servicePort"`
	Protocol      string            `json:"protocol"`
	Name          string            `json:"name,omitempty"`
	Labels        map[string]string `json:"labels"`
	NetworkNames  []string          `json:"networkNames,omitempty"`
}

// Network is one entry of `networks`.
type Network struct {
	Mode   string            `json:"mode"`
	Name   string            `json:"name,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
}

// HealthCheck is a Marathon health check with defaults filled in.
type HealthCheck struct {
	Protocol               string   `json:"protocol"`
	Path                   string   `json:"path,omitempty"`
	PortIndex              *int     `json:"portIndex,omitempty"`
	Port                   *int     `json:"port,omitempty"`
	Command                *Command `json:"command,omitempty"`
	GracePeriodSeconds     int      `json:"gracePeriodSeconds"`
	IntervalSeconds        int      `json:"intervalSeconds"`
	TimeoutSeconds         int      `json:"timeoutSeconds"`
	MaxConsecutiveFailures int      `json:"maxConsecutiveFailures"`
	DelaySeconds           int      `json:"delaySeconds"`
	IgnoreHTTP1xx          bool     `json:"ignoreHttp1xx"`
	IPProtocol             string   `json:"ipProtocol"`
}

// Command is a COMMAND health check's command.
type Command struct {
	Value string `json:"value"`
}

// UpgradeStrategy controls rolling replacement.
type UpgradeStrategy struct {
	MinimumHealthCapacity float64 `json:"minimumHealthCapacity"`
	MaximumOverCapacity   float64 `json:"maximumOverCapacity"`
}

// UnreachableStrategy is "disabled" or the two timers.
type UnreachableStrategy struct {
	Disabled             bool
	InactiveAfterSeconds int
	ExpungeAfterSeconds  int
}

type unreachableJSON struct {
	InactiveAfterSeconds *int `json:"inactiveAfterSeconds"`
	ExpungeAfterSeconds  *int `json:"expungeAfterSeconds"`
}

// MarshalJSON writes "disabled" or the object.
func (u UnreachableStrategy) MarshalJSON() ([]byte, error) {
	if u.Disabled {
		return []byte(`"disabled"`), nil
	}
	return []byte(fmt.Sprintf(`{"inactiveAfterSeconds":%d,"expungeAfterSeconds":%d}`,
		u.InactiveAfterSeconds, u.ExpungeAfterSeconds)), nil
}

// UnmarshalJSON reads "disabled", null or the object.
func (u *UnreachableStrategy) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*u = UnreachableStrategy{}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s != "disabled" {
			return &json.UnmarshalTypeError{Value: "string " + s, Type: typeOfUnreachable}
		}
		u.Disabled = true
		return nil
	}
	var v unreachableJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if v.InactiveAfterSeconds != nil {
		u.InactiveAfterSeconds = *v.InactiveAfterSeconds
	}
	if v.ExpungeAfterSeconds != nil {
		u.ExpungeAfterSeconds = *v.ExpungeAfterSeconds
	}
	return nil
}

// VersionInfo is Marathon's versionInfo.
type VersionInfo struct {
	LastScalingAt      string `json:"lastScalingAt"`
	LastConfigChangeAt string `json:"lastConfigChangeAt"`
}

// NetworkMode returns the app's effective networking mode.
func (a *App) NetworkMode() string {
	if len(a.Networks) == 0 {
		return NetworkHost
	}
	return a.Networks[0].Mode
}

// ServicePorts returns the app's service ports in port index order.
func (a *App) ServicePorts() []int {
	if a.NetworkMode() == NetworkHost {
		out := make([]int, len(a.PortDefinitions))
		for i, pd := range a.PortDefinitions {
			out[i] = pd.Port
		}
		return out
	}
	if a.Container == nil {
		return nil
	}
	out := make([]int, len(a.Container.PortMappings))
	for i, pm := range a.Container.PortMappings {
		out[i] = pm.ServicePort
	}
	return out
}

// ServicePortSlots returns pointers to every servicePort field, in port
// index order, so the master can fill in the zero (automatic) ones.
func (a *App) ServicePortSlots() []*int {
	var out []*int
	if a.NetworkMode() == NetworkHost {
		for i := range a.PortDefinitions {
			out = append(out, &a.PortDefinitions[i].Port)
		}
		return out
	}
	if a.Container != nil {
		for i := range a.Container.PortMappings {
			out = append(out, &a.Container.PortMappings[i].ServicePort)
		}
	}
	return out
}

// SyncPorts recomputes the read-only `ports` list from the service ports.
func (a *App) SyncPorts() {
	a.Ports = a.ServicePorts()
	if a.Ports == nil {
		a.Ports = []int{}
	}
}

// Clone returns a deep copy (via JSON; apps are small).
func (a *App) Clone() *App {
	b, err := json.Marshal(a)
	if err != nil {
		panic(fmt.Sprintf("marathon: clone %s: %v", a.ID, err)) // cannot happen: App always marshals
	}
	var c App
	if err := json.Unmarshal(b, &c); err != nil {
		panic(fmt.Sprintf("marathon: clone %s: %v", a.ID, err))
	}
	return &c
}
