package marathon

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Defaults that differ from Go zero values.
const (
	DefaultInstances             = 1
	DefaultCPUs                  = 1.0
	DefaultMem                   = 128.0
	DefaultBackoffSeconds        = 1
	DefaultBackoffFactor         = 1.15
	DefaultMaxLaunchDelaySeconds = 3600
)

// appIn is the request side: pointers and nil slices tell absent (or null)
// from given, so defaults apply exactly where Marathon applies them.
type appIn struct {
	ID                         *string                    `json:"id"`
	Cmd                        *string                    `json:"cmd"`
	Args                       []string                   `json:"args"`
	User                       *string                    `json:"user"`
	Env                        map[string]json.RawMessage `json:"env"`
	Instances                  *int                       `json:"instances"`
	CPUs                       *float64                   `json:"cpus"`
	Mem                        *float64                   `json:"mem"`
	Disk                       *float64                   `json:"disk"`
	GPUs                       *int                       `json:"gpus"`
	Executor                   *string                    `json:"executor"`
	Constraints                [][]string                 `json:"constraints"`
	AcceptedResourceRoles      *[]string                  `json:"acceptedResourceRoles"`
	URIs                       []string                   `json:"uris"`
	Fetch                      []fetchIn                  `json:"fetch"`
	StoreURLs                  []string                   `json:"storeUrls"`
	Ports                      *[]int                     `json:"ports"`
	PortDefinitions            *[]portDefIn               `json:"portDefinitions"`
	RequirePorts               *bool                      `json:"requirePorts"`
	BackoffSeconds             *int                       `json:"backoffSeconds"`
	BackoffFactor              *float64                   `json:"backoffFactor"`
	MaxLaunchDelaySeconds      *int                       `json:"maxLaunchDelaySeconds"`
	Container                  *containerIn               `json:"container"`
	Networks                   *[]Network                 `json:"networks"`
	IPAddress                  *ipAddressIn               `json:"ipAddress"`
	HealthChecks               []healthCheckIn            `json:"healthChecks"`
	ReadinessChecks            []json.RawMessage          `json:"readinessChecks"`
	Dependencies               []string                   `json:"dependencies"`
	UpgradeStrategy            *upgradeIn                 `json:"upgradeStrategy"`
	Labels                     map[string]string          `json:"labels"`
	TaskKillGracePeriodSeconds *int                       `json:"taskKillGracePeriodSeconds"`
	KillSelection              *string                    `json:"killSelection"`
	UnreachableStrategy        *UnreachableStrategy       `json:"unreachableStrategy"`
	Residency                  json.RawMessage            `json:"residency"`
	Secrets                    map[string]json.RawMessage `json:"secrets"`
}

type fetchIn struct {
	URI        *string `json:"uri"`
	Extract    *bool   `json:"extract"`
	Executable *bool   `json:"executable"`
	Cache      *bool   `json:"cache"`
	DestPath   *string `json:"destPath"`
}

type portDefIn struct {
	Port     *int              `json:"port"`
	Protocol *string           `json:"protocol"`
	Name     *string           `json:"name"`
	Labels   map[string]string `json:"labels"`
}

type containerIn struct {
	Type         *string      `json:"type"`
	Docker       *dockerIn    `json:"docker"`
	Volumes      []Volume     `json:"volumes"`
	PortMappings *[]portMapIn `json:"portMappings"`
}

type dockerIn struct {
	Image          *string      `json:"image"`
	Network        *string      `json:"network"`
	PortMappings   *[]portMapIn `json:"portMappings"`
	Privileged     *bool        `json:"privileged"`
	Parameters     []Parameter  `json:"parameters"`
	ForcePullImage *bool        `json:"forcePullImage"`
}

type portMapIn struct {
	ContainerPort *int              `json:"containerPort"`
	HostPort      *int              `json:"hostPort"`
	ServicePort   *int              `json:"servicePort"`
	Protocol      *string           `json:"protocol"`
	Name          *string           `json:"name"`
	Labels        map[string]string `json:"labels"`
	NetworkNames  []string          `json:"networkNames"`
}

type ipAddressIn struct {
	NetworkName *string `json:"networkName"`
}

type healthCheckIn struct {
	Protocol               *string  `json:"protocol"`
	Path                   *string  `json:"path"`
	PortIndex              *int     `json:"portIndex"`
	Port                   *int     `json:"port"`
	Command                *Command `json:"command"`
	GracePeriodSeconds     *int     `json:"gracePeriodSeconds"`
	IntervalSeconds        *int     `json:"intervalSeconds"`
	TimeoutSeconds         *int     `json:"timeoutSeconds"`
	MaxConsecutiveFailures *int     `json:"maxConsecutiveFailures"`
	DelaySeconds           *int     `json:"delaySeconds"`
	IgnoreHTTP1xx          *bool    `json:"ignoreHttp1xx"`
	IPProtocol             *string  `json:"ipProtocol"`
}

type upgradeIn struct {
	MinimumHealthCapacity *float64 `json:"minimumHealthCapacity"`
	MaximumOverCapacity   *float64 `json:"maximumOverCapacity"`
}

// Decode parses one app definition and fills in Marathon's defaults. base
// is the group relative ids are resolved against ("/" for POST /v2/apps).
// Errors are *Error: 400 for malformed JSON or wrong types, 422 for what
// cannot be turned into an app (conflicting network forms, …). Decode does
// not run Validate.
func Decode(data []byte, base string) (*App, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		if len(data) > 0 && json.Valid(data) {
			return nil, &Error{Status: 400, Message: "Invalid JSON",
				Details: []Detail{{Path: "/", Errors: []string{"error.expected.jsobject"}}}}
		}
	}
	var in appIn
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, InvalidJSON(err)
	}
	var v Violations
	app := convert(&in, base, &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	return app, nil
}

// Parse is Decode followed by Validate.
func Parse(data []byte, base string, opts Options) (*App, error) {
	app, err := Decode(data, base)
	if err != nil {
		return nil, err
	}
	if err := Validate(app, opts); err != nil {
		return nil, err
	}
	return app, nil
}

func convert(in *appIn, base string, v *Violations) *App {
	a := &App{
		Env: map[string]string{}, Instances: DefaultInstances, CPUs: DefaultCPUs, Mem: DefaultMem,
		Constraints: [][]string{}, URIs: []string{}, Fetch: []Fetch{}, StoreURLs: []string{},
		BackoffSeconds: DefaultBackoffSeconds, BackoffFactor: DefaultBackoffFactor,
		MaxLaunchDelaySeconds: DefaultMaxLaunchDelaySeconds, HealthChecks: []HealthCheck{},
		ReadinessChecks: []json.RawMessage{}, Dependencies: []string{}, Labels: map[string]string{},
		UpgradeStrategy: UpgradeStrategy{1, 1}, KillSelection: YoungestFirst,
		Secrets: map[string]json.RawMessage{},
	}
	if in.ID != nil {
		a.ID = ResolveID(*in.ID, base)
	}
	setStr(&a.Cmd, in.Cmd)
	a.Args = in.Args
	setStr(&a.User, in.User)
	convertEnv(in.Env, a, v)
	setInt(&a.Instances, in.Instances)
	setFloat(&a.CPUs, in.CPUs)
	setFloat(&a.Mem, in.Mem)
	setFloat(&a.Disk, in.Disk)
	setInt(&a.GPUs, in.GPUs)
	setStr(&a.Executor, in.Executor)
	if in.Constraints != nil {
		a.Constraints = in.Constraints
	}
	if in.AcceptedResourceRoles != nil {
		a.AcceptedResourceRoles = *in.AcceptedResourceRoles
		if len(a.AcceptedResourceRoles) == 0 {
			v.Add("/acceptedResourceRoles", "must not be empty")
		}
	}
	if in.URIs != nil {
		a.URIs = in.URIs
	}
	for _, f := range in.Fetch {
		ff := Fetch{Extract: true}
		setStr(&ff.URI, f.URI)
		setBool(&ff.Extract, f.Extract)
		setBool(&ff.Executable, f.Executable)
		setBool(&ff.Cache, f.Cache)
		setStr(&ff.DestPath, f.DestPath)
		a.Fetch = append(a.Fetch, ff)
	}
	if in.StoreURLs != nil {
		a.StoreURLs = in.StoreURLs
	}
	if in.RequirePorts != nil {
		a.RequirePorts = *in.RequirePorts
	}
	setInt(&a.BackoffSeconds, in.BackoffSeconds)
	setFloat(&a.BackoffFactor, in.BackoffFactor)
	setInt(&a.MaxLaunchDelaySeconds, in.MaxLaunchDelaySeconds)
	convertRest(in, a, v)
	a.SyncPorts()
	return a
}

// convertRest converts networking, health checks and the scheduling
// options.
func convertRest(in *appIn, a *App, v *Violations) {
	convertNetworking(in, a, v)
	convertHealthChecks(in.HealthChecks, a)
	if in.ReadinessChecks != nil {
		a.ReadinessChecks = decodeReadiness(in.ReadinessChecks, v)
	}
	if in.Dependencies != nil {
		a.Dependencies = make([]string, len(in.Dependencies))
		for i, d := range in.Dependencies {
			a.Dependencies[i] = ResolveID(d, parentOf(a.ID))
		}
	}
	if in.UpgradeStrategy != nil {
		setFloat(&a.UpgradeStrategy.MinimumHealthCapacity, in.UpgradeStrategy.MinimumHealthCapacity)
		setFloat(&a.UpgradeStrategy.MaximumOverCapacity, in.UpgradeStrategy.MaximumOverCapacity)
	}
	if in.Labels != nil {
		a.Labels = in.Labels
	}
	a.TaskKillGracePeriodSeconds = in.TaskKillGracePeriodSeconds
	setStr(&a.KillSelection, in.KillSelection)
	if in.UnreachableStrategy != nil {
		a.UnreachableStrategy = *in.UnreachableStrategy
	}
	if len(in.Residency) > 0 && string(in.Residency) != "null" {
		a.Residency = in.Residency
	}
	if in.Secrets != nil {
		a.Secrets = in.Secrets
	}
}

func convertEnv(env map[string]json.RawMessage, a *App, v *Violations) {
	for _, k := range sortedKeys(env) {
		raw := bytes.TrimSpace(env[k])
		var s string
		switch {
		case len(raw) > 0 && raw[0] == '"':
			if err := json.Unmarshal(raw, &s); err != nil {
				v.Add("/env/"+k, "error.expected.jsstring")
				continue
			}
			a.Env[k] = s
		case string(raw) == "null":
			continue
		case len(raw) > 0 && raw[0] == '{':
			v.Add("/env/"+k, "secret references are not supported by Berth")
		default:
			v.Add("/env/"+k, "error.expected.jsstring")
		}
	}
}

func convertHealthChecks(hcs []healthCheckIn, a *App) {
	for _, h := range hcs {
		hc := HealthCheck{Protocol: "HTTP", GracePeriodSeconds: 300, IntervalSeconds: 60,
			TimeoutSeconds: 20, MaxConsecutiveFailures: 3, DelaySeconds: 15, IPProtocol: "IPv4"}
		if h.Protocol != nil {
			hc.Protocol = strings.ToUpper(*h.Protocol)
		}
		switch hc.Protocol {
		case "HTTP", "HTTPS", "MESOS_HTTP", "MESOS_HTTPS":
			hc.Path = "/"
			setStr(&hc.Path, h.Path)
		}
		hc.Port = h.Port
		hc.PortIndex = h.PortIndex
		if hc.Port == nil && hc.PortIndex == nil && hc.Protocol != "COMMAND" {
			zero := 0
			hc.PortIndex = &zero
		}
		hc.Command = h.Command
		setInt(&hc.GracePeriodSeconds, h.GracePeriodSeconds)
		setInt(&hc.IntervalSeconds, h.IntervalSeconds)
		setInt(&hc.TimeoutSeconds, h.TimeoutSeconds)
		setInt(&hc.MaxConsecutiveFailures, h.MaxConsecutiveFailures)
		setInt(&hc.DelaySeconds, h.DelaySeconds)
		setBool(&hc.IgnoreHTTP1xx, h.IgnoreHTTP1xx)
		setStr(&hc.IPProtocol, h.IPProtocol)
		a.HealthChecks = append(a.HealthChecks, hc)
	}
}

func setStr(dst *string, src *string) {
	if src != nil {
		*dst = *src
	}
}

func setInt(dst *int, src *int) {
	if src != nil {
		*dst = *src
	}
}

func setFloat(dst *float64, src *float64) {
	if src != nil {
		*dst = *src
	}
}

func setBool(dst *bool, src *bool) {
	if src != nil {
		*dst = *src
	}
}

func intp(i int) *int { return &i }

// describe formats a number the way the Scala messages do ("-3.0").
func describe(f float64) string {
	s := fmt.Sprintf("%v", f)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return s
}
