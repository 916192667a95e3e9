package agent

import (
	"hash/fnv"
	"sort"
	"strconv"
	"strings"

	"github.com/berth-platform/berth/internal/wire"
)

// TaskEnv computes a task's environment the way Marathon does (see the
// Marathon digest §1.7.3): PORT0…, PORT, PORTS, PORT_<number>, PORT_<NAME>,
// HOST, MESOS_TASK_ID, MARATHON_APP_*, then the app's env, which overrides
// anything before it. extra (e.g. MESOS_SANDBOX) goes in before the app's env.
// The result is sorted KEY=value pairs.
func TaskEnv(spec wire.TaskSpec, host string, extra map[string]string) []string {
	env := map[string]string{}
	effective := effectivePorts(spec)
	strs := make([]string, len(effective))
	for i, p := range effective {
		strs[i] = strconv.Itoa(p)
		env["PORT"+strconv.Itoa(i)] = strs[i]
	}
	if len(effective) > 0 {
		env["PORT"] = strs[0]
		env["PORTS"] = strings.Join(strs, ",")
	}
	for i, tp := range spec.Ports {
		// Requested port: a container network's non-zero containerPort;
		// otherwise the port is dynamic and named after itself.
		requested := effective[i]
		if spec.Container != nil && spec.Container.Network != "HOST" && tp.ContainerPort != 0 {
			requested = tp.ContainerPort
		}
		env["PORT_"+strconv.Itoa(requested)] = strs[i]
		if tp.Name != "" {
			env["PORT_"+strings.ToUpper(tp.Name)] = strs[i]
		}
	}
	env["HOST"] = host
	env["MESOS_TASK_ID"] = spec.TaskID
	env["MARATHON_APP_ID"] = spec.AppID
	env["MARATHON_APP_VERSION"] = spec.AppVersion
	if spec.Container != nil && spec.Container.Image != "" {
		env["MARATHON_APP_DOCKER_IMAGE"] = spec.Container.Image
	}
	env["MARATHON_APP_RESOURCE_CPUS"] = scalaDouble(spec.Resources.CPUs)
	env["MARATHON_APP_RESOURCE_MEM"] = scalaDouble(spec.Resources.Mem)
	env["MARATHON_APP_RESOURCE_DISK"] = scalaDouble(spec.Resources.Disk)
	env["MARATHON_APP_RESOURCE_GPUS"] = strconv.Itoa(int(spec.Resources.GPUs))
	labelEnv(spec.Labels, env)
	for k, v := range extra {
		env[k] = v
	}
	for k, v := range spec.Env {
		env[k] = v
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// effectivePorts is the value of PORTi for each of the task's ports: the
// host port; for a container-only port the container port; for a
// container-only port without one a stable pseudo-random port ≥ 1025
// derived from the task id and index (Marathon draws a random one).
func effectivePorts(spec wire.TaskSpec) []int {
	out := make([]int, len(spec.Ports))
	for i, p := range spec.Ports {
		switch {
		case p.HostPort != 0:
			out[i] = p.HostPort
		case p.ContainerPort != 0:
			out[i] = p.ContainerPort
		default:
			h := fnv.New32a()
			h.Write([]byte(spec.TaskID + "/" + strconv.Itoa(i)))
			out[i] = 1025 + int(h.Sum32()%(65535-1025))
		}
	}
	return out
}

// labelEnv adds MARATHON_APP_LABELS and MARATHON_APP_LABEL_<KEY>; keys are
// sanitized (runs outside [a-zA-Z0-9_] become _, upper-cased), labels with a
// key of 494+ characters or a value of 512+ characters are skipped.
func labelEnv(labels map[string]string, env map[string]string) {
	var keys []string
	for k, v := range labels {
		if len(k) >= 494 || len(v) >= 512 {
			continue
		}
		sk := sanitizeLabelKey(k)
		keys = append(keys, sk)
		env["MARATHON_APP_LABEL_"+sk] = v
	}
	if len(keys) == 0 {
		return
	}
	sort.Strings(keys)
	env["MARATHON_APP_LABELS"] = strings.Join(keys, " ")
}

func sanitizeLabelKey(k string) string {
	var b strings.Builder
	inRun := false
	for _, r := range k {
		ok := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if ok {
			b.WriteRune(r)
			inRun = false
			continue
		}
		if !inRun {
			b.WriteByte('_')
		}
		inRun = true
	}
	return strings.ToUpper(b.String())
}

// scalaDouble formats a float like Scala's Double.toString for the values
// Marathon prints: 1.0, 0.5, 128.0.
func scalaDouble(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eEn") {
		s += ".0"
	}
	return s
}
