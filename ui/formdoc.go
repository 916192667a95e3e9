package ui

import (
	"encoding/json"
	"strconv"
	"strings"
)

// FormFromDefinition reads the common fields out of an app definition.
func FormFromDefinition(doc json.RawMessage) AppForm {
	var m map[string]any
	_ = json.Unmarshal(doc, &m)
	f := AppForm{ID: str(m["id"]), Cmd: str(m["cmd"]), CPUs: str(m["cpus"]), Mem: str(m["mem"]),
		Disk: str(m["disk"]), Instances: str(m["instances"]), Network: netHost,
		Env: keyValueLines(obj(m["env"])), Labels: keyValueLines(obj(m["labels"]))}
	if f.Cmd == "" && len(list(m["args"])) > 0 {
		b, _ := json.Marshal(m["args"])
		f.Cmd = string(b)
	}
	c := obj(m["container"])
	d := obj(c["docker"])
	f.Image = str(d["image"])
	for _, n := range list(m["networks"]) {
		if mode := str(obj(n)["mode"]); mode != "" {
			f.Network = mode
		}
	}
	if nw := strings.ToUpper(str(d["network"])); nw == "BRIDGE" || nw == "USER" {
		f.Network = netBridge
	}
	pms := list(c["portMappings"])
	if len(pms) == 0 {
		pms = list(d["portMappings"])
	}
	if len(pms) > 0 && f.Network == netHost && len(list(m["networks"])) == 0 {
		f.Network = netBridge
	}
	for _, pm := range pms {
		p := obj(pm)
		f.Ports = append(f.Ports, PortRow{ContainerPort: str(p["containerPort"]), HostPort: str(p["hostPort"]),
			ServicePort: str(p["servicePort"]), Protocol: str(p["protocol"]), Name: str(p["name"])})
	}
	if f.Network == netHost {
		for _, pd := range list(m["portDefinitions"]) {
			p := obj(pd)
			f.Ports = append(f.Ports, PortRow{ServicePort: str(p["port"]), Protocol: str(p["protocol"]), Name: str(p["name"])})
		}
	}
	f.Constraints = constraintLines(m)
	f.HC, f.RC = healthForm(m), readinessForm(m)
	for _, v := range list(c["volumes"]) {
		vm := obj(v)
		f.Volumes = append(f.Volumes, VolumeRow{ContainerPath: str(vm["containerPath"]), HostPath: str(vm["hostPath"]), Mode: str(vm["mode"])})
	}
	return f
}

func constraintLines(m map[string]any) string {
	var cons []string
	for _, c := range list(m["constraints"]) {
		var parts []string
		for _, p := range list(c) {
			parts = append(parts, str(p))
		}
		cons = append(cons, strings.Join(parts, " "))
	}
	if len(cons) == 0 {
		return ""
	}
	return strings.Join(cons, "\n") + "\n"
}

func healthForm(m map[string]any) HealthForm {
	var f HealthForm
	if hcs := list(m["healthChecks"]); len(hcs) > 0 {
		h := obj(hcs[0])
		f = HealthForm{Protocol: str(h["protocol"]), Path: str(h["path"]), PortIndex: str(h["portIndex"]),
			Command: str(obj(h["command"])["value"]), Grace: str(h["gracePeriodSeconds"]),
			Interval: str(h["intervalSeconds"]), Timeout: str(h["timeoutSeconds"]), MaxFailures: str(h["maxConsecutiveFailures"])}
	}
	return f
}

func readinessForm(m map[string]any) ReadinessForm {
	var f ReadinessForm
	if rcs := list(m["readinessChecks"]); len(rcs) > 0 {
		r := obj(rcs[0])
		var codes []string
		for _, c := range list(r["httpStatusCodesForReady"]) {
			codes = append(codes, str(c))
		}
		f = ReadinessForm{Name: str(r["name"]), Protocol: str(r["protocol"]), Path: str(r["path"]),
			PortName: str(r["portName"]), Interval: str(r["intervalSeconds"]), Timeout: str(r["timeoutSeconds"]),
			StatusCodes: strings.Join(codes, ",")}
	}
	return f
}

// formDoc is the JSON object a form edits (an app or a job definition);
// the fields the form does not show are kept as they are.
type formDoc map[string]any

// decodeFormDoc reads base as an object (an empty one when it is not).
func decodeFormDoc(base json.RawMessage) formDoc {
	m := formDoc{}
	_ = json.Unmarshal(base, &m)
	if m == nil {
		m = formDoc{}
	}
	return m
}

// str sets key k to the text v; an empty v removes the key.
func (m formDoc) str(k, v string) {
	if v == "" {
		delete(m, k)
	} else {
		m[k] = v
	}
}

// num sets key k to v as a JSON number when it is one (else as text, for
// the API to name the field); an empty v removes the key.
func (m formDoc) num(k, v string) {
	if v == "" {
		delete(m, k)
	} else {
		m[k] = numberOrString(v)
	}
}

// ApplyForm merges the form's fields into base (the document's other
// fields are kept) and returns the new definition.
func ApplyForm(base json.RawMessage, f AppForm) json.RawMessage {
	m := decodeFormDoc(base)
	setStr, setNum := m.str, m.num
	setStr("id", f.ID)
	if strings.HasPrefix(f.Cmd, "[") {
		var args []string
		if json.Unmarshal([]byte(f.Cmd), &args) == nil {
			m["args"] = args
			delete(m, "cmd")
		} else {
			setStr("cmd", f.Cmd)
		}
	} else {
		setStr("cmd", f.Cmd)
		if f.Cmd != "" {
			delete(m, "args")
		}
	}
	setNum("cpus", f.CPUs)
	setNum("mem", f.Mem)
	setNum("disk", f.Disk)
	setNum("instances", f.Instances)
	setMap(m, "env", parseKeyValues(f.Env))
	setMap(m, "labels", parseKeyValues(f.Labels))
	applyConstraints(m, f.Constraints)
	applyContainer(m, f)
	applyHealth(m, f.HC)
	applyReadiness(m, f.RC)
	b, err := json.Marshal(m)
	if err != nil {
		return base
	}
	return b
}

func setMap(m map[string]any, k string, v map[string]any) {
	if len(v) == 0 {
		delete(m, k)
		return
	}
	m[k] = v
}

func applyConstraints(m map[string]any, s string) {
	var cons [][]string
	for _, line := range strings.Split(s, "\n") {
		fields := strings.Fields(strings.ReplaceAll(line, ":", " "))
		if len(fields) == 0 {
			continue
		}
		if len(fields) > 3 {
			fields = append(fields[:2], strings.Join(fields[2:], " "))
		}
		cons = append(cons, fields)
	}
	if len(cons) == 0 {
		delete(m, "constraints")
		return
	}
	m["constraints"] = cons
}

// applyContainer sets the image, network, ports and volumes.
func applyContainer(m map[string]any, f AppForm) {
	c := obj(m["container"])
	if c == nil {
		c = map[string]any{}
	}
	d := obj(c["docker"])
	if f.Image != "" {
		if d == nil {
			d = map[string]any{}
		}
		d["image"] = f.Image
		c["type"] = "DOCKER"
		c["docker"] = d
	} else {
		delete(c, "docker")
		if str(c["type"]) == "DOCKER" {
			c["type"] = "MESOS"
		}
	}
	if d != nil {
		delete(d, "network")
		delete(d, "portMappings")
	}
	delete(m, "ports")
	applyPorts(m, c, f)
	var vols []any
	for _, v := range f.Volumes {
		vm := map[string]any{"containerPath": v.ContainerPath}
		putStr(vm, "hostPath", v.HostPath)
		putStr(vm, "mode", v.Mode)
		vols = append(vols, vm)
	}
	if len(vols) > 0 {
		c["volumes"] = vols
	} else {
		delete(c, "volumes")
	}
	if _, ok := c["type"]; !ok && len(c) > 0 {
		c["type"] = "MESOS"
	}
	if len(c) == 0 || (len(c) == 1 && c["type"] == "MESOS") {
		delete(m, "container")
		return
	}
	m["container"] = c
}

// applyPorts sets the network and the ports: container port mappings
// (bridge) or port definitions (host).
func applyPorts(m, c map[string]any, f AppForm) {
	if f.Network == netBridge {
		m["networks"] = []any{map[string]any{"mode": netBridge}}
		var pms []any
		for _, p := range f.Ports {
			pm := map[string]any{"containerPort": numberOrString(orZero(p.ContainerPort))}
			putNum(pm, "hostPort", p.HostPort)
			putNum(pm, "servicePort", p.ServicePort)
			putStr(pm, "protocol", p.Protocol)
			putStr(pm, "name", p.Name)
			pms = append(pms, pm)
		}
		c["portMappings"] = nonNilList(pms)
		delete(m, "portDefinitions")
	} else {
		m["networks"] = []any{map[string]any{"mode": netHost}}
		delete(c, "portMappings")
		var pds []any
		for _, p := range f.Ports {
			pd := map[string]any{"port": numberOrString(orZero(p.ServicePort))}
			putStr(pd, "protocol", p.Protocol)
			putStr(pd, "name", p.Name)
			pds = append(pds, pd)
		}
		m["portDefinitions"] = nonNilList(pds)
	}
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

func nonNilList(l []any) []any {
	if l == nil {
		return []any{}
	}
	return l
}

func putNum(m map[string]any, k, v string) {
	if v != "" {
		m[k] = numberOrString(v)
	}
}

func putStr(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}

// applyHealth replaces the first health check by the form's (keeping the
// keys the form does not show), or drops it when the protocol is empty.
func applyHealth(m map[string]any, h HealthForm) {
	hcs := list(m["healthChecks"])
	var first map[string]any
	if len(hcs) > 0 {
		first, hcs = obj(hcs[0]), hcs[1:]
	}
	if h.Protocol != "" {
		if first == nil {
			first = map[string]any{}
		}
		first["protocol"] = h.Protocol
		for k, v := range map[string]string{"portIndex": h.PortIndex, "gracePeriodSeconds": h.Grace,
			"intervalSeconds": h.Interval, "timeoutSeconds": h.Timeout, "maxConsecutiveFailures": h.MaxFailures} {
			if v == "" {
				delete(first, k)
			} else {
				first[k] = numberOrString(v)
			}
		}
		delete(first, "path")
		delete(first, "command")
		switch {
		case h.Protocol == "COMMAND":
			first["command"] = map[string]any{"value": h.Command}
			delete(first, "portIndex")
		case strings.Contains(h.Protocol, "HTTP"):
			putStr(first, "path", h.Path)
		}
		hcs = append([]any{first}, hcs...)
	}
	if len(hcs) == 0 {
		delete(m, "healthChecks")
		return
	}
	m["healthChecks"] = hcs
}

// applyReadiness is applyHealth for the first readiness check.
func applyReadiness(m map[string]any, r ReadinessForm) {
	rcs := list(m["readinessChecks"])
	var first map[string]any
	if len(rcs) > 0 {
		first, rcs = obj(rcs[0]), rcs[1:]
	}
	if r.Protocol != "" || r.Path != "" || r.PortName != "" {
		if first == nil {
			first = map[string]any{}
		}
		for k, v := range map[string]string{"name": r.Name, "protocol": r.Protocol, "path": r.Path, "portName": r.PortName} {
			if v == "" {
				delete(first, k)
			} else {
				first[k] = v
			}
		}
		for k, v := range map[string]string{"intervalSeconds": r.Interval, "timeoutSeconds": r.Timeout} {
			if v == "" {
				delete(first, k)
			} else {
				first[k] = numberOrString(v)
			}
		}
		delete(first, "httpStatusCodesForReady")
		var codes []any
		for _, c := range strings.Split(r.StatusCodes, ",") {
			if c = strings.TrimSpace(c); c != "" {
				if n, err := strconv.Atoi(c); err == nil {
					codes = append(codes, n)
				} else {
					codes = append(codes, c)
				}
			}
		}
		if codes != nil {
			first["httpStatusCodesForReady"] = codes
		}
		rcs = append([]any{first}, rcs...)
	}
	if len(rcs) == 0 {
		delete(m, "readinessChecks")
		return
	}
	m["readinessChecks"] = rcs
}
