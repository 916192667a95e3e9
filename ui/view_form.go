package ui

import (
	"encoding/json"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// FormPage is the create / edit form of an app: the common fields and,
// on the same document, the JSON mode.
type FormPage struct {
	Page
	// Edit is set when editing an existing app (ID fixed).
	Edit bool
	// Action is where the form posts.
	Action string
	// Mode is "form" or "json".
	Mode string
	F    AppForm
	// JSON is the whole document (JSON mode); Base is the document the
	// form fields are merged into (fields the form does not show).
	JSON, Base string
	// Errors are the API's errors by form field; General the ones that
	// name no form field (with their path).
	Errors  map[string][]string
	General []string
	// Networks are the choices of the network field.
	Networks []Choice
	// Protocols are the health check protocols.
	Protocols []Choice
	// Fields are the text inputs by name; Errs the errors of each error
	// key (a field or a group of fields).
	Fields map[string]Field
	Errs   map[string]FieldErrs
	Cancel string
}

// Field is one labelled text input.
type Field struct {
	Key, Name, Label, Value, Placeholder, Mode string
	Errors                                     []string
}

// FieldErrs are the errors shown under a field or group.
type FieldErrs struct {
	Key    string
	Errors []string
}

// Choice is one option of a select or radio group.
type Choice struct {
	Value, Label string
	Selected     bool
}

// AppForm holds the common fields as the user typed them.
type AppForm struct {
	ID, Cmd, Image             string
	CPUs, Mem, Disk, Instances string
	Network                    string
	Ports                      []PortRow
	Env, Labels, Constraints   string
	HC                         HealthForm
	RC                         ReadinessForm
	Volumes                    []VolumeRow
}

// PortRow is one port mapping (bridge) or port definition (host).
type PortRow struct {
	Index                                                int
	ContainerPort, HostPort, ServicePort, Protocol, Name string
}

// HealthForm is the app's first health check.
type HealthForm struct {
	Protocol, Path, PortIndex, Command    string
	Grace, Interval, Timeout, MaxFailures string
}

// ReadinessForm is the app's first readiness check.
type ReadinessForm struct {
	Name, Protocol, Path, PortName, Interval, Timeout, StatusCodes string
}

// VolumeRow is one host volume.
type VolumeRow struct {
	Index                         int
	ContainerPath, HostPath, Mode string
}

const (
	netHost   = "host"
	netBridge = "container/bridge"
)

// NewFormView is the form page for creating (id == "") or editing an app
// whose definition is doc, in mode, with the API's errors (if any).
func NewFormView(doc json.RawMessage, f *AppForm, mode string, details []apiDetail, edit bool) FormPage {
	p := FormPage{Page: Page{Title: "Create app", Nav: "apps"}, Edit: edit, Action: "/ui/new", Mode: mode}
	if mode != "json" {
		p.Mode = "form"
	}
	if f == nil {
		ff := FormFromDefinition(doc)
		f = &ff
	}
	p.F = padRows(*f)
	if edit {
		p.Title, p.Action = "Edit "+p.F.ID, editHref(p.F.ID)
	}
	p.JSON, p.Base = prettyJSON(doc), string(doc)
	if p.JSON == "" || p.JSON == "null" {
		p.JSON = "{}"
	}
	p.Errors, p.General = FieldErrors(details, p.Mode == "json")
	p.Cancel = "/ui/apps"
	if edit {
		p.Cancel = appHref(p.F.ID)
	}
	p.Fields = formFields(p.F, p.Errors)
	p.Errs = map[string]FieldErrs{}
	for _, k := range []string{"network", "ports", "env", "labels", "constraints", "health", "readiness", "volumes"} {
		p.Errs[k] = FieldErrs{Key: k, Errors: p.Errors[k]}
	}
	for _, n := range []Choice{{netBridge, "bridge (port mappings)", false}, {netHost, "host (port definitions)", false}} {
		n.Selected = n.Value == p.F.Network
		p.Networks = append(p.Networks, n)
	}
	for _, pr := range []string{"", "HTTP", "HTTPS", "TCP", "COMMAND", "MESOS_HTTP", "MESOS_TCP"} {
		label := pr
		if pr == "" {
			label = "none"
		}
		p.Protocols = append(p.Protocols, Choice{pr, label, pr == p.F.HC.Protocol})
	}
	return p
}

// formFields are the form's text inputs with their errors.
func formFields(f AppForm, errs map[string][]string) map[string]Field {
	out := map[string]Field{}
	add := func(name, label, value, placeholder, mode string) {
		key := name
		if strings.Contains(name, ".") {
			key = "" // a group's field: its errors show under the group
		}
		out[name] = Field{Key: key, Name: name, Label: label, Value: value, Placeholder: placeholder, Mode: mode,
			Errors: errs[key]}
	}
	add("id", "ID", f.ID, "/web", "")
	add("cmd", "Command", f.Cmd, "python3 -m http.server $PORT0", "")
	add("image", "Docker image", f.Image, "berth/hello", "")
	add("cpus", "CPUs", f.CPUs, "0.1", "decimal")
	add("mem", "Memory (MiB)", f.Mem, "64", "decimal")
	add("disk", "Disk (MiB)", f.Disk, "0", "decimal")
	add("instances", "Instances", f.Instances, "1", "numeric")
	add("hc.path", "Path", f.HC.Path, "/health", "")
	add("hc.portIndex", "Port index", f.HC.PortIndex, "0", "numeric")
	add("hc.command", "Command (COMMAND)", f.HC.Command, "", "")
	add("hc.grace", "Grace (s)", f.HC.Grace, "300", "numeric")
	add("hc.interval", "Interval (s)", f.HC.Interval, "60", "numeric")
	add("hc.timeout", "Timeout (s)", f.HC.Timeout, "20", "numeric")
	add("hc.maxFailures", "Max failures", f.HC.MaxFailures, "3", "numeric")
	add("rc.name", "Name", f.RC.Name, "readiness", "")
	add("rc.protocol", "Protocol", f.RC.Protocol, "HTTP", "")
	add("rc.path", "Path", f.RC.Path, "/ready", "")
	add("rc.portName", "Port name", f.RC.PortName, "http", "")
	add("rc.interval", "Interval (s)", f.RC.Interval, "30", "numeric")
	add("rc.timeout", "Timeout (s)", f.RC.Timeout, "10", "numeric")
	add("rc.statusCodes", "Ready status codes", f.RC.StatusCodes, "200", "")
	return out
}

// padRows adds empty rows so the user can add a port and a volume.
func padRows(f AppForm) AppForm {
	f.Ports = append(f.Ports[:len(f.Ports):len(f.Ports)], PortRow{Protocol: "tcp"})
	if len(f.Ports) < 2 {
		f.Ports = append(f.Ports, PortRow{Protocol: "tcp"})
	}
	for i := range f.Ports {
		f.Ports[i].Index = i
	}
	f.Volumes = append(f.Volumes[:len(f.Volumes):len(f.Volumes)], VolumeRow{Mode: "RW"})
	for i := range f.Volumes {
		f.Volumes[i].Index = i
	}
	return f
}

// FieldErrors sorts the API's error details into the form field each
// names; the others (all of them in JSON mode) are general, with path.
func FieldErrors(details []apiDetail, jsonMode bool) (map[string][]string, []string) {
	by := map[string][]string{}
	var general []string
	for _, d := range details {
		field := fieldOf(d.Path)
		for _, e := range d.Errors {
			if field == "" || jsonMode {
				general = append(general, d.Path+": "+e)
			} else {
				by[field] = append(by[field], e)
			}
		}
	}
	return by, general
}

// fieldPrefixes map an error path to the form field showing it.
var fieldPrefixes = []struct{ prefix, field string }{
	{"/container/docker/portMappings", "ports"}, {"/container/docker/network", "network"},
	{"/container/docker", "image"}, {"/container/portMappings", "ports"}, {"/container/volumes", "volumes"},
	{"/portDefinitions", "ports"}, {"/ports", "ports"}, {"/requirePorts", "ports"},
	{"/networks", "network"}, {"/ipAddress", "network"}, {"/healthChecks", "health"},
	{"/readinessChecks", "readiness"}, {"/constraints", "constraints"}, {"/env", "env"},
	{"/labels", "labels"}, {"/id", "id"}, {"/cmd", "cmd"}, {"/args", "cmd"}, {"/cpus", "cpus"},
	{"/mem", "mem"}, {"/disk", "disk"}, {"/instances", "instances"},
}

func fieldOf(path string) string {
	for _, fp := range fieldPrefixes {
		if path == fp.prefix || strings.HasPrefix(path, fp.prefix+"/") || strings.HasPrefix(path, fp.prefix+"(") {
			return fp.field
		}
	}
	return ""
}

// FormFromValues reads the form fields of a submitted form.
func FormFromValues(v url.Values) AppForm {
	g := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	f := AppForm{ID: g("id"), Cmd: g("cmd"), Image: g("image"), CPUs: g("cpus"), Mem: g("mem"), Disk: g("disk"),
		Instances: g("instances"), Network: g("network"), Env: v.Get("env"), Labels: v.Get("labels"),
		Constraints: v.Get("constraints"),
		HC: HealthForm{Protocol: g("hc.protocol"), Path: g("hc.path"), PortIndex: g("hc.portIndex"),
			Command: g("hc.command"), Grace: g("hc.grace"), Interval: g("hc.interval"), Timeout: g("hc.timeout"),
			MaxFailures: g("hc.maxFailures")},
		RC: ReadinessForm{Name: g("rc.name"), Protocol: g("rc.protocol"), Path: g("rc.path"),
			PortName: g("rc.portName"), Interval: g("rc.interval"), Timeout: g("rc.timeout"),
			StatusCodes: g("rc.statusCodes")},
	}
	for i := 0; i < 100; i++ {
		p := "port." + strconv.Itoa(i) + "."
		if _, ok := v[p+"container"]; !ok {
			break
		}
		r := PortRow{Index: i, ContainerPort: g(p + "container"), HostPort: g(p + "host"),
			ServicePort: g(p + "service"), Protocol: g(p + "protocol"), Name: g(p + "name")}
		if r.ContainerPort != "" || r.HostPort != "" || r.ServicePort != "" || r.Name != "" {
			f.Ports = append(f.Ports, r)
		}
	}
	for i := 0; i < 100; i++ {
		p := "vol." + strconv.Itoa(i) + "."
		if _, ok := v[p+"container"]; !ok {
			break
		}
		r := VolumeRow{Index: i, ContainerPath: g(p + "container"), HostPath: g(p + "host"), Mode: g(p + "mode")}
		if r.ContainerPath != "" || r.HostPath != "" {
			f.Volumes = append(f.Volumes, r)
		}
	}
	return f
}

// keyValueLines formats a string map as KEY=VALUE lines in key order.
func keyValueLines(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		s, ok := m[k].(string)
		if !ok {
			bs, _ := json.Marshal(m[k])
			s = string(bs)
		}
		b.WriteString(k + "=" + s + "\n")
	}
	return b.String()
}

// parseKeyValues reads KEY=VALUE lines (blank lines skipped).
func parseKeyValues(s string) map[string]any {
	out := map[string]any{}
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		out[strings.TrimSpace(k)] = v
	}
	return out
}

// numberOrString is the JSON value of a numeric field: a number when s
// parses, s itself otherwise (the API then names the field).
func numberOrString(s string) any {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f
	}
	return s
}

func str(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case float64:
		return num(t)
	case bool:
		return strconv.FormatBool(t)
	case nil:
		return ""
	default:
		b, _ := json.Marshal(t)
		return string(b)
	}
}

func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}
