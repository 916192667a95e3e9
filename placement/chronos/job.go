package chronos

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/berth-platform/berth/jobs"
)

// Job is a Chronos job as stored and returned (GET /scheduler/jobs), with
// Berth's queue. Numbers are written as JSON numbers.
type Job struct {
	Name                 string       `json:"name"`
	Command              string       `json:"command"`
	Shell                bool         `json:"shell"`
	Arguments            []string     `json:"arguments"`
	Schedule             string       `json:"schedule,omitempty"`
	ScheduleTimeZone     string       `json:"scheduleTimeZone"`
	Parents              []string     `json:"parents,omitempty"`
	Epsilon              string       `json:"epsilon"`
	Retries              int          `json:"retries"`
	Async                bool         `json:"async"`
	Disabled             bool         `json:"disabled"`
	Concurrent           bool         `json:"concurrent"`
	SoftError            bool         `json:"softError"`
	HighPriority         bool         `json:"highPriority"`
	Owner                string       `json:"owner"`
	OwnerName            string       `json:"ownerName"`
	Description          string       `json:"description"`
	CPUs                 float64      `json:"cpus"`
	Mem                  float64      `json:"mem"`
	Disk                 float64      `json:"disk"`
	MaxCompletionTime    int64        `json:"maxCompletionTime"`
	RunAsUser            string       `json:"runAsUser"`
	Container            *Container   `json:"container,omitempty"`
	EnvironmentVariables []EnvVar     `json:"environmentVariables"`
	Constraints          []Constraint `json:"constraints"`
	URIs                 []string     `json:"uris"`
	Fetch                []Fetch      `json:"fetch"`
	Queue                string       `json:"queue"`

	// Read-only on output (accepted on input and kept, as Chronos does).
	SuccessCount           int    `json:"successCount"`
	ErrorCount             int    `json:"errorCount"`
	LastSuccess            string `json:"lastSuccess"`
	LastError              string `json:"lastError"`
	ErrorsSinceLastSuccess int    `json:"errorsSinceLastSuccess"`
}

// jobIn is the tolerant input form.
type jobIn struct {
	Name                   string            `json:"name"`
	Command                string            `json:"command"`
	Shell                  *Bool             `json:"shell"`
	Arguments              []string          `json:"arguments"`
	Schedule               string            `json:"schedule"`
	ScheduleTimeZone       string            `json:"scheduleTimeZone"`
	Parents                []string          `json:"parents"`
	Epsilon                string            `json:"epsilon"`
	Retries                *Int              `json:"retries"`
	Async                  Bool              `json:"async"`
	Disabled               Bool              `json:"disabled"`
	Concurrent             Bool              `json:"concurrent"`
	SoftError              Bool              `json:"softError"`
	HighPriority           Bool              `json:"highPriority"`
	Owner                  string            `json:"owner"`
	OwnerName              string            `json:"ownerName"`
	Description            string            `json:"description"`
	CPUs                   Num               `json:"cpus"`
	Mem                    Num               `json:"mem"`
	Disk                   Num               `json:"disk"`
	MaxCompletionTime      Int               `json:"maxCompletionTime"`
	RunAsUser              string            `json:"runAsUser"`
	Container              *Container        `json:"container"`
	EnvironmentVariables   []EnvVar          `json:"environmentVariables"`
	Constraints            []json.RawMessage `json:"constraints"`
	URIs                   []string          `json:"uris"`
	Fetch                  []Fetch           `json:"fetch"`
	Queue                  string            `json:"queue"`
	SuccessCount           Int               `json:"successCount"`
	ErrorCount             Int               `json:"errorCount"`
	LastSuccess            string            `json:"lastSuccess"`
	LastError              string            `json:"lastError"`
	ErrorsSinceLastSuccess Int               `json:"errorsSinceLastSuccess"`
}

// Error is a 400 in Chronos' shape, naming the field.
type Error struct {
	Field   string
	Message string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// Body is the JSON error body Chronos sends.
func (e *Error) Body() []byte {
	b, _ := json.Marshal(map[string]string{"status": "Bad Request", "message": e.Error()})
	return b
}

func bad(field, format string, args ...any) *Error {
	return &Error{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Defaults are the values Chronos substitutes for zero resources and an
// unset epsilon (--mesos_task_cpu/mem/disk, --task_epsilon).
type Defaults struct {
	CPUs, Mem, Disk float64
	Epsilon         string
	Retries         int
}

// DefaultDefaults are Chronos' flag defaults.
var DefaultDefaults = Defaults{CPUs: 0.1, Mem: 128, Disk: 256, Epsilon: "PT60S", Retries: 2}

// unsetRetries marks a body without retries (Normalize fills the default).
const unsetRetries = math.MinInt32

var nameRE = regexp.MustCompile(`^[\w.-]+$`)

// Decode reads a job body; a JSON type error names the field. Unknown
// keys are ignored, as Chronos does.
func Decode(data []byte) (*Job, error) {
	var in jobIn
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&in); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, bad(te.Field, "wrong JSON type %s", te.Value)
		}
		return nil, bad("", "invalid JSON: %v", err)
	}
	j := &Job{
		Name: in.Name, Command: in.Command, Shell: in.Shell == nil || bool(*in.Shell), Arguments: in.Arguments,
		Schedule: in.Schedule, ScheduleTimeZone: in.ScheduleTimeZone, Parents: in.Parents, Epsilon: in.Epsilon,
		Async: bool(in.Async), Disabled: bool(in.Disabled), Concurrent: bool(in.Concurrent),
		SoftError: bool(in.SoftError), HighPriority: bool(in.HighPriority),
		Owner: in.Owner, OwnerName: in.OwnerName, Description: in.Description,
		CPUs: float64(in.CPUs), Mem: float64(in.Mem), Disk: float64(in.Disk),
		MaxCompletionTime: int64(in.MaxCompletionTime), RunAsUser: in.RunAsUser,
		Container: in.Container, EnvironmentVariables: in.EnvironmentVariables,
		URIs: in.URIs, Fetch: in.Fetch, Queue: in.Queue,
		SuccessCount: int(in.SuccessCount), ErrorCount: int(in.ErrorCount), LastSuccess: in.LastSuccess,
		LastError: in.LastError, ErrorsSinceLastSuccess: int(in.ErrorsSinceLastSuccess),
		Retries: unsetRetries,
	}
	if in.Retries != nil {
		j.Retries = int(*in.Retries)
	}
	for i, raw := range in.Constraints {
		var triple []string
		if err := json.Unmarshal(raw, &triple); err != nil || len(triple) != 3 {
			return nil, bad(fmt.Sprintf("constraints[%d]", i), `want ["attribute", "EQUALS"|"LIKE"|"UNLIKE", "value"], got %s`, string(raw))
		}
		j.Constraints = append(j.Constraints, Constraint{triple[0], strings.ToUpper(triple[1]), triple[2]})
	}
	return j, nil
}

// Normalize fills Chronos' defaults and checks the job on its own (the
// parents' existence, cycles and the queue are the service's to check
// against the other jobs). dependent is true for POST /dependency, false
// for POST /iso8601. now anchors an empty schedule start.
func (j *Job) Normalize(d Defaults, dependent bool, now time.Time) error {
	if !nameRE.MatchString(j.Name) {
		return bad("name", "%q must be letters, digits, '_', '.' or '-'", j.Name)
	}
	if dependent {
		if len(j.Parents) == 0 {
			return bad("parents", "a dependent job needs at least one parent")
		}
		j.Schedule, j.ScheduleTimeZone = "", ""
	} else {
		if j.Schedule == "" {
			return bad("schedule", "required for a scheduled job (e.g. R/2026-01-01T02:30:00Z/P1D)")
		}
		j.Parents = nil
		if _, err := jobs.ParseSchedule(j.Schedule, j.ScheduleTimeZone, now); err != nil {
			field := "schedule"
			if strings.HasPrefix(err.Error(), "scheduleTimeZone") {
				field = "scheduleTimeZone"
			}
			return bad(field, "%v", err)
		}
	}
	for i, p := range j.Parents {
		if !nameRE.MatchString(p) {
			return bad(fmt.Sprintf("parents[%d]", i), "%q is not a job name", p)
		}
	}
	if j.Epsilon == "" {
		j.Epsilon = d.Epsilon
	}
	if _, err := jobs.ParsePeriod(j.Epsilon); err != nil {
		return bad("epsilon", "%v", err)
	}
	for _, r := range []struct {
		field string
		v     *float64
		def   float64
	}{{"cpus", &j.CPUs, d.CPUs}, {"mem", &j.Mem, d.Mem}, {"disk", &j.Disk, d.Disk}} {
		if *r.v < 0 {
			return bad(r.field, "%v is negative", *r.v)
		}
		if *r.v == 0 {
			*r.v = r.def
		}
	}
	if j.Retries == unsetRetries {
		j.Retries = d.Retries
	}
	if j.Retries < 0 {
		return bad("retries", "%d is negative", j.Retries)
	}
	if j.MaxCompletionTime < 0 {
		return bad("maxCompletionTime", "%d is negative", j.MaxCompletionTime)
	}
	if len(j.URIs) > 0 && len(j.Fetch) > 0 {
		return bad("uris", "give either uris or fetch, not both")
	}
	if !j.Shell && j.Container == nil && j.Command == "" {
		return bad("command", "required when shell is false")
	}
	if j.Shell && j.Command == "" && (j.Container == nil || j.Container.Image == "") {
		return bad("command", "required (or a container image to run)")
	}
	if err := j.normalizeContainer(); err != nil {
		return err
	}
	for i, e := range j.EnvironmentVariables {
		if e.Name == "" {
			return bad(fmt.Sprintf("environmentVariables[%d].name", i), "required")
		}
	}
	for i, c := range j.Constraints {
		switch c.Operator {
		case "EQUALS":
		case "LIKE", "UNLIKE":
			if _, err := regexp.Compile("^(?:" + c.Value + ")$"); err != nil {
				return bad(fmt.Sprintf("constraints[%d]", i), "bad regular expression %q", c.Value)
			}
		default:
			return bad(fmt.Sprintf("constraints[%d]", i), "operator %q, want EQUALS, LIKE or UNLIKE", c.Operator)
		}
	}
	j.fillSlices()
	return nil
}

func (j *Job) normalizeContainer() error {
	c := j.Container
	if c == nil {
		return nil
	}
	if c.Image == "" { // Chronos recognises a container only with an image
		j.Container = nil
		return nil
	}
	c.Type = strings.ToUpper(c.Type)
	if c.Type == "" {
		c.Type = "DOCKER"
	}
	if c.Type != "DOCKER" && c.Type != "MESOS" {
		return bad("container.type", "%q, want DOCKER or MESOS", c.Type)
	}
	c.Network = strings.ToUpper(c.Network)
	switch c.Network {
	case "":
		c.Network = "HOST"
	case "HOST", "BRIDGE":
	default:
		return bad("container.network", "%q, want HOST or BRIDGE", c.Network)
	}
	for i, v := range c.Volumes {
		if v.ContainerPath == "" {
			return bad(fmt.Sprintf("container.volumes[%d].containerPath", i), "required")
		}
		if len(v.External) > 0 && string(v.External) != "null" {
			return bad(fmt.Sprintf("container.volumes[%d].external", i), "external (volume driver) volumes are not supported; mount a hostPath")
		}
		if v.HostPath == "" {
			return bad(fmt.Sprintf("container.volumes[%d].hostPath", i), "required: Berth bind-mounts host paths only (no sandbox volumes)")
		}
		if m := strings.ToUpper(v.Mode); m != "" && m != "RO" && m != "RW" {
			return bad(fmt.Sprintf("container.volumes[%d].mode", i), "%q, want RO or RW", v.Mode)
		}
		c.Volumes[i].Mode = strings.ToUpper(v.Mode)
	}
	if c.Volumes == nil {
		c.Volumes = []Volume{}
	}
	if c.Parameters == nil {
		c.Parameters = []KeyValue{}
	}
	return nil
}

// fillSlices makes empty lists [] rather than null on output.
func (j *Job) fillSlices() {
	if j.Arguments == nil {
		j.Arguments = []string{}
	}
	if j.EnvironmentVariables == nil {
		j.EnvironmentVariables = []EnvVar{}
	}
	if j.Constraints == nil {
		j.Constraints = []Constraint{}
	}
	if j.URIs == nil {
		j.URIs = []string{}
	}
	if j.Fetch == nil {
		j.Fetch = []Fetch{}
	}
}
