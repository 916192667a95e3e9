package service

import (
	"strconv"
	"strings"

	"github.com/berth-platform/berth/internal/wire"
	"github.com/berth-platform/berth/placement/chronos"
)

// TaskSpec is the agent's task for one attempt of a run: the job's
// command (shell: /bin/sh -c command; otherwise command then arguments as
// argv, or the image's entrypoint with the arguments), its container,
// fetch entries and Chronos' environment variables. It is pure.
func TaskSpec(j *chronos.Job, in *Inflight) wire.TaskSpec {
	spec := wire.TaskSpec{TaskID: in.TaskID, AppID: AppIDPrefix + j.Name, AppVersion: in.Due, User: j.RunAsUser,
		Resources:              wire.Resources{CPUs: j.CPUs, Mem: j.Mem, Disk: j.Disk},
		KillGracePeriodSeconds: 3, Labels: map[string]string{"berth.job": j.Name}}
	args := j.Arguments
	if in.Arguments != nil {
		args = append(append([]string(nil), args...), in.Arguments...)
	}
	switch {
	case j.Shell && j.Command != "":
		spec.Cmd = j.Command
	case j.Command != "":
		spec.Args = append([]string{j.Command}, args...)
	default:
		spec.Args = append([]string(nil), args...)
	}
	spec.Env = map[string]string{
		"CHRONOS_JOB_NAME":          j.Name,
		"CHRONOS_JOB_OWNER":         j.Owner,
		"CHRONOS_RESOURCE_CPU":      num(j.CPUs),
		"CHRONOS_RESOURCE_MEM":      num(j.Mem),
		"CHRONOS_RESOURCE_DISK":     num(j.Disk),
		"CHRONOS_JOB_RUN_TIME":      in.Due,
		"CHRONOS_JOB_RUN_ATTEMPT":   strconv.Itoa(in.Attempt),
		"mesos_task_id":             in.TaskID,
		"MESOS_TASK_ID":             in.TaskID,
		"CHRONOS_JOB_OWNER_NAME":    j.OwnerName,
		"CHRONOS_JOB_SCHEDULED_RUN": strconv.FormatBool(!in.Manual),
	}
	for _, e := range j.EnvironmentVariables {
		spec.Env[e.Name] = e.Value
	}
	if c := j.Container; c != nil {
		wc := &wire.Container{Type: "DOCKER", Image: c.Image, Network: c.Network, NetworkName: c.NetworkName,
			ForcePullImage: bool(c.ForcePullImage)}
		for _, p := range c.Parameters {
			wc.Parameters = append(wc.Parameters, wire.KeyValue{Key: p.Key, Value: p.Value})
		}
		for _, v := range c.Volumes { // Normalize refused any without hostPath
			wc.Volumes = append(wc.Volumes, wire.Volume{HostPath: v.HostPath, ContainerPath: v.ContainerPath, Mode: strings.ToUpper(v.Mode)})
		}
		spec.Container = wc
	}
	for _, u := range j.URIs {
		spec.Fetch = append(spec.Fetch, wire.FetchURI{URI: u, Extract: true})
	}
	for _, f := range j.Fetch {
		extract := f.Extract == nil || bool(*f.Extract)
		spec.Fetch = append(spec.Fetch, wire.FetchURI{URI: f.URI, Extract: extract, Executable: bool(f.Executable), DestPath: f.OutputFile})
	}
	return spec
}

// Constraints maps Chronos' operators onto the placement core's: EQUALS
// is Marathon's CLUSTER, LIKE and UNLIKE are the same.
func Constraints(j *chronos.Job) [][]string {
	var out [][]string
	for _, c := range j.Constraints {
		op := c.Operator
		if op == "EQUALS" {
			op = "CLUSTER"
		}
		out = append(out, []string{c.Field, op, c.Value})
	}
	return out
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
