package marathon

import (
	"fmt"
	"regexp"
)

// Options are the master's security switches for app options that reach
// the host.
type Options struct {
	AllowPrivileged       bool
	AllowDockerParameters bool
	AllowHostVolumes      bool
}

var (
	executorPattern = regexp.MustCompile(`^(?://cmd|/?[^/]+(?:/[^/]+)*|)$`)
	portNamePattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
)

// Validate checks a decoded app against Marathon's rules; the error is a
// 422 *Error naming every offending path.
func Validate(a *App, opts Options) error {
	var v Violations
	validateID(a.ID, &v)
	validateCommand(a, &v)
	validateResources(a, &v)
	validatePorts(a, &v)
	validateContainer(a, opts, &v)
	validateHealthChecks(a, &v)
	validateReadiness(a, &v)
	validateStrategy(a, &v)
	for i, c := range a.Constraints {
		for _, msg := range ConstraintErrors(c) {
			v.Add(pathIdx("/constraints", i), msg)
		}
	}
	for i, d := range a.Dependencies {
		var dv Violations
		validateID(d, &dv)
		if !dv.Empty() {
			v.Add(pathIdx("/dependencies", i), "is not a valid app id")
		}
	}
	return v.Err()
}

func validateCommand(a *App, v *Violations) {
	hasArgs := len(a.Args) > 0
	if (a.Cmd != "" && hasArgs) || (a.Cmd == "" && !hasArgs && a.Container == nil) {
		v.Add("/", "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.")
	}
	if !executorPattern.MatchString(a.Executor) {
		v.Add("/executor", "must fully match regular expression '^(//cmd)|(/?[^/]+(/[^/]+)*)|$'")
	}
	if len(a.URIs) > 0 && len(a.Fetch) > 0 {
		v.Add("/uris", "may not be set in conjunction with fetch")
	}
	for i, f := range a.Fetch {
		if f.URI == "" {
			v.Add(pathIdx("/fetch", i)+"/uri", "must not be empty")
		}
	}
}

func validateResources(a *App, v *Violations) {
	nonNegF := func(path string, f float64) {
		if f < 0 || f != f {
			v.Addf(path, "got %s, expected 0.0 or more", describe(f))
		}
	}
	nonNegI := func(path string, i int) {
		if i < 0 {
			v.Addf(path, "got %d, expected 0 or more", i)
		}
	}
	nonNegF("/cpus", a.CPUs)
	nonNegF("/mem", a.Mem)
	nonNegF("/disk", a.Disk)
	nonNegI("/instances", a.Instances)
	nonNegI("/gpus", a.GPUs)
	if a.GPUs > 0 {
		v.Add("/gpus", "Feature gpu_resources is not enabled. Enable with --enable_features gpu_resources)")
	}
	nonNegI("/backoffSeconds", a.BackoffSeconds)
	nonNegI("/maxLaunchDelaySeconds", a.MaxLaunchDelaySeconds)
	if !(a.BackoffFactor >= 1) {
		v.Addf("/backoffFactor", "got %s, expected 1.0 or more", describe(a.BackoffFactor))
	}
	if a.TaskKillGracePeriodSeconds != nil {
		nonNegI("/taskKillGracePeriodSeconds", *a.TaskKillGracePeriodSeconds)
	}
}

func validatePortNumber(path string, p int, v *Violations) {
	if p < 0 || p > 65535 {
		v.Addf(path, "got %d, expected between 0 and 65535", p)
	}
}

func validateProtocol(path, p string, v *Violations) {
	switch p {
	case "tcp", "udp", "udp,tcp", "tcp,udp":
	default:
		v.Addf(path, "must be one of tcp, udp, udp,tcp; got %q", p)
	}
}

func validatePorts(a *App, v *Violations) {
	defs := portSet{}
	for i, pd := range a.PortDefinitions {
		p := pathIdx("/portDefinitions", i)
		validatePortNumber(p+"/port", pd.Port, v)
		validateProtocol(p+"/protocol", pd.Protocol, v)
		defs.add(p, pd.Port, pd.Name, v)
	}
	defs.report("/portDefinitions", "ports must be unique", v)
	if a.Container == nil {
		return
	}
	maps := portSet{}
	for i, pm := range a.Container.PortMappings {
		p := pathIdx("/container/portMappings", i)
		validatePortNumber(p+"/containerPort", pm.ContainerPort, v)
		if pm.HostPort != nil {
			validatePortNumber(p+"/hostPort", *pm.HostPort, v)
		}
		validatePortNumber(p+"/servicePort", pm.ServicePort, v)
		validateProtocol(p+"/protocol", pm.Protocol, v)
		maps.add(p, pm.ServicePort, pm.Name, v)
	}
	maps.report("/container/portMappings", "Service ports must be unique", v)
}

// portSet finds duplicate ports (0 = dynamic, never a duplicate) and
// duplicate or malformed names among port definitions or port mappings.
type portSet struct {
	ports            map[int]bool
	names            map[string]bool
	dupPort, dupName bool
}

func (s *portSet) add(path string, port int, name string, v *Violations) {
	if s.ports == nil {
		s.ports, s.names = map[int]bool{}, map[string]bool{}
	}
	if port != 0 && s.ports[port] {
		s.dupPort = true
	}
	s.ports[port] = true
	if name == "" {
		return
	}
	if s.names[name] {
		s.dupName = true
	}
	s.names[name] = true
	if !portNamePattern.MatchString(name) {
		v.Add(path+"/name", "must fully match regular expression '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'")
	}
}

// report adds the set's duplicate violations at path, once each.
func (s *portSet) report(path, dupPortMsg string, v *Violations) {
	if s.dupPort {
		v.Add(path, dupPortMsg)
	}
	if s.dupName {
		v.Add(path, "Port names must be unique.")
	}
}

func validateContainer(a *App, opts Options, v *Violations) {
	c := a.Container
	if c == nil {
		return
	}
	switch c.Type {
	case "DOCKER":
		if c.Docker == nil {
			v.Add("/container/docker", "must not be empty for a DOCKER container")
		}
	case "MESOS":
	default:
		v.Addf("/container/type", "must be one of DOCKER, MESOS; got %q", c.Type)
	}
	if d := c.Docker; d != nil {
		if d.Image == "" {
			v.Add("/container/docker/image", "must not be empty")
		}
		if d.Privileged && !opts.AllowPrivileged {
			v.Add("/container/docker/privileged", "privileged containers are not allowed on this master (start it with --allow-privileged)")
		}
		if len(d.Parameters) > 0 && !opts.AllowDockerParameters {
			v.Add("/container/docker/parameters", "docker parameters are not allowed on this master (start it with --allow-docker-parameters)")
		}
		for i, p := range d.Parameters {
			if p.Key == "" {
				v.Add(pathIdx("/container/docker/parameters", i)+"/key", "must not be empty")
			}
		}
	} else if a.Cmd == "" && len(a.Args) == 0 {
		v.Add("/", "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.")
	}
	for i, vol := range c.Volumes {
		p := pathIdx("/container/volumes", i)
		if vol.ContainerPath == "" {
			v.Add(p+"/containerPath", "must not be empty")
		}
		if vol.Mode != "RO" && vol.Mode != "RW" {
			v.Addf(p+"/mode", "must be one of RO, RW; got %q", vol.Mode)
		}
		switch {
		case len(vol.Persistent) > 0 || len(vol.External) > 0:
			v.Add(p, "persistent and external volumes are not supported by Berth")
		case len(vol.Secret) > 0:
			v.Add(p+"/secret", "secret volumes are not supported by Berth")
		case vol.HostPath == "":
			v.Add(p+"/hostPath", "must not be empty")
		case !opts.AllowHostVolumes:
			v.Add(p+"/hostPath", "host volumes are not allowed on this master (start it with --allow-host-volumes)")
		}
	}
}

func validateHealthChecks(a *App, v *Violations) {
	nPorts := len(a.PortDefinitions)
	if a.NetworkMode() != NetworkHost && a.Container != nil {
		nPorts = len(a.Container.PortMappings)
	}
	mesosChecks := 0
	for i, hc := range a.HealthChecks {
		p := pathIdx("/healthChecks", i)
		switch hc.Protocol {
		case "HTTP", "HTTPS", "TCP":
		case "MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP":
			mesosChecks++
		case "COMMAND":
			mesosChecks++
			if hc.Command == nil || hc.Command.Value == "" {
				v.Add(p+"/command", "must not be empty for a COMMAND health check")
			}
		default:
			v.Addf(p+"/protocol", "must be one of HTTP, HTTPS, TCP, COMMAND, MESOS_HTTP, MESOS_HTTPS, MESOS_TCP; got %q", hc.Protocol)
		}
		if hc.PortIndex != nil && (*hc.PortIndex < 0 || *hc.PortIndex >= nPorts) {
			v.Add(p, "Health check port indices must address an element of the ports array or container port mappings.")
		}
		if hc.Port != nil {
			validatePortNumber(p+"/port", *hc.Port, v)
		}
		for _, f := range []struct {
			name string
			val  int
		}{{"gracePeriodSeconds", hc.GracePeriodSeconds}, {"intervalSeconds", hc.IntervalSeconds},
			{"timeoutSeconds", hc.TimeoutSeconds}, {"maxConsecutiveFailures", hc.MaxConsecutiveFailures},
			{"delaySeconds", hc.DelaySeconds}} {
			if f.val < 0 {
				v.Addf(p+"/"+f.name, "got %d, expected 0 or more", f.val)
			}
		}
		if hc.IntervalSeconds == 0 {
			v.Add(p+"/intervalSeconds", "got 0, expected 1 or more")
		}
	}
	if mesosChecks > 1 {
		v.Add("/healthChecks", "AppDefinition can contain at most one Mesos health check")
	}
}

func validateStrategy(a *App, v *Violations) {
	between := func(path string, f float64) {
		if !(f >= 0 && f <= 1) {
			v.Addf(path, "got %s, expected between 0.0 and 1.0", describe(f))
		}
	}
	between("/upgradeStrategy/minimumHealthCapacity", a.UpgradeStrategy.MinimumHealthCapacity)
	between("/upgradeStrategy/maximumOverCapacity", a.UpgradeStrategy.MaximumOverCapacity)
	if a.KillSelection != YoungestFirst && a.KillSelection != OldestFirst {
		v.Addf("/killSelection", "must be one of YOUNGEST_FIRST, OLDEST_FIRST; got %q", a.KillSelection)
	}
	u := a.UnreachableStrategy
	if !u.Disabled {
		if u.InactiveAfterSeconds < 0 || u.ExpungeAfterSeconds < 0 {
			v.Add("/unreachableStrategy", "timeouts must be 0 or more")
		}
		if u.InactiveAfterSeconds > u.ExpungeAfterSeconds {
			v.Add("/unreachableStrategy/inactiveAfterSeconds", fmt.Sprintf("got %d, expected less than or equal to expungeAfterSeconds (%d)", u.InactiveAfterSeconds, u.ExpungeAfterSeconds))
		}
	}
	if a.Labels["MARATHON_SINGLE_INSTANCE_APP"] == "true" {
		if a.Instances > 1 {
			v.Add("/instances", "Single instance app may only have one instance")
		}
		if a.UpgradeStrategy.MinimumHealthCapacity != 0 || a.UpgradeStrategy.MaximumOverCapacity != 0 {
			v.Add("/upgradeStrategy", "Single instance app may only have upgradeStrategy {0, 0}")
		}
	}
}
