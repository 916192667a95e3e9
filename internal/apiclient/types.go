package apiclient

import (
	"encoding/json"
	"sort"
)

// App is an app as the API shows it (AppInfo): the definition fields the
// CLI reads, the counts, deployments, tasks and last task failure. Raw is
// the exact JSON it was decoded from; marshalling an App writes Raw when
// set.
type App struct {
	ID              string            `json:"id"`
	Cmd             string            `json:"cmd,omitempty"`
	Args            []string          `json:"args,omitempty"`
	Instances       int               `json:"instances"`
	CPUs            float64           `json:"cpus"`
	Mem             float64           `json:"mem"`
	Disk            float64           `json:"disk"`
	Container       *Container        `json:"container,omitempty"`
	Networks        []Network         `json:"networks,omitempty"`
	Ports           []int             `json:"ports,omitempty"`
	PortDefinitions []PortDefinition  `json:"portDefinitions,omitempty"`
	Constraints     [][]string        `json:"constraints,omitempty"`
	Labels          map[string]string `json:"labels,omitempty"`
	HealthChecks    []json.RawMessage `json:"healthChecks,omitempty"`
	Version         string            `json:"version,omitempty"`

	TasksStaged     int             `json:"tasksStaged"`
	TasksRunning    int             `json:"tasksRunning"`
	TasksHealthy    int             `json:"tasksHealthy"`
	TasksUnhealthy  int             `json:"tasksUnhealthy"`
	Deployments     []DeploymentRef `json:"deployments"`
	Tasks           []Task          `json:"tasks,omitempty"`
	LastTaskFailure *TaskFailure    `json:"lastTaskFailure,omitempty"`

	Raw json.RawMessage `json:"-"`
}

type plainApp App

// UnmarshalJSON decodes the app and keeps its JSON in Raw.
func (a *App) UnmarshalJSON(b []byte) error {
	var p plainApp
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*a = App(p)
	a.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// MarshalJSON writes Raw when set, the fields otherwise.
func (a App) MarshalJSON() ([]byte, error) {
	if a.Raw != nil {
		return a.Raw, nil
	}
	return json.Marshal(plainApp(a))
}

// Image is the app's Docker image, or "" for a command app.
func (a *App) Image() string {
	if a.Container != nil && a.Container.Docker != nil {
		return a.Container.Docker.Image
	}
	return ""
}

// ServicePorts are the app's servicePorts, from whichever field carries
// them (legacy ports, portDefinitions, container port mappings).
func (a *App) ServicePorts() []int {
	if len(a.Ports) > 0 {
		return a.Ports
	}
	var out []int
	for _, p := range a.PortDefinitions {
		out = append(out, p.Port)
	}
	if c := a.Container; c != nil && len(out) == 0 {
		pms := c.PortMappings
		if len(pms) == 0 && c.Docker != nil {
			pms = c.Docker.PortMappings
		}
		for _, p := range pms {
			out = append(out, p.ServicePort)
		}
	}
	return out
}

// Container is the app's container.
type Container struct {
	Type         string        `json:"type"`
	Docker       *Docker       `json:"docker,omitempty"`
	PortMappings []PortMapping `json:"portMappings,omitempty"`
}

// Docker is container.docker.
type Docker struct {
	Image        string        `json:"image"`
	Network      string        `json:"network,omitempty"`
	PortMappings []PortMapping `json:"portMappings,omitempty"`
}

// PortMapping is a container port mapping.
type PortMapping struct {
	ContainerPort int    `json:"containerPort"`
	HostPort      *int   `json:"hostPort,omitempty"`
	ServicePort   int    `json:"servicePort"`
	Protocol      string `json:"protocol,omitempty"`
	Name          string `json:"name,omitempty"`
}

// PortDefinition is a host-networking port definition.
type PortDefinition struct {
	Port     int    `json:"port"`
	Protocol string `json:"protocol,omitempty"`
	Name     string `json:"name,omitempty"`
}

// Network is one entry of an app's networks.
type Network struct {
	Mode string `json:"mode"`
	Name string `json:"name,omitempty"`
}

// TaskFailure is an app's lastTaskFailure.
type TaskFailure struct {
	AppID     string `json:"appId"`
	Host      string `json:"host"`
	Message   string `json:"message"`
	State     string `json:"state"`
	TaskID    string `json:"taskId"`
	Timestamp string `json:"timestamp"`
	Version   string `json:"version"`
	SlaveID   string `json:"slaveId"`
}

// Task is Marathon's task object. Raw is its exact JSON.
type Task struct {
	ID                 string              `json:"id"`
	AppID              string              `json:"appId"`
	Host               string              `json:"host"`
	SlaveID            string              `json:"slaveId"`
	Ports              []int               `json:"ports"`
	ServicePorts       []int               `json:"servicePorts"`
	IPAddresses        []IPAddress         `json:"ipAddresses,omitempty"`
	StagedAt           string              `json:"stagedAt"`
	StartedAt          *string             `json:"startedAt"`
	Version            string              `json:"version"`
	State              string              `json:"state"`
	HealthCheckResults []HealthCheckResult `json:"healthCheckResults,omitempty"`

	Raw json.RawMessage `json:"-"`
}

type plainTask Task

// UnmarshalJSON decodes the task and keeps its JSON in Raw.
func (t *Task) UnmarshalJSON(b []byte) error {
	var p plainTask
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*t = Task(p)
	t.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// MarshalJSON writes Raw when set, the fields otherwise.
func (t Task) MarshalJSON() ([]byte, error) {
	if t.Raw != nil {
		return t.Raw, nil
	}
	return json.Marshal(plainTask(t))
}

// IPAddress is one of a task's addresses.
type IPAddress struct {
	IPAddress string `json:"ipAddress"`
	Protocol  string `json:"protocol"`
}

// HealthCheckResult is one health check's state for a task.
type HealthCheckResult struct {
	Alive               bool   `json:"alive"`
	ConsecutiveFailures int    `json:"consecutiveFailures"`
	LastFailureCause    string `json:"lastFailureCause,omitempty"`
}

// Deployment is one running deployment. Raw is its exact JSON.
type Deployment struct {
	ID             string   `json:"id"`
	Version        string   `json:"version"`
	AffectedApps   []string `json:"affectedApps"`
	Steps          []Step   `json:"steps"`
	CurrentActions []Action `json:"currentActions"`
	CurrentStep    int      `json:"currentStep"`
	TotalSteps     int      `json:"totalSteps"`

	Raw json.RawMessage `json:"-"`
}

type plainDeployment Deployment

// UnmarshalJSON decodes the deployment and keeps its JSON in Raw.
func (d *Deployment) UnmarshalJSON(b []byte) error {
	var p plainDeployment
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*d = Deployment(p)
	d.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// MarshalJSON writes Raw when set, the fields otherwise.
func (d Deployment) MarshalJSON() ([]byte, error) {
	if d.Raw != nil {
		return d.Raw, nil
	}
	return json.Marshal(plainDeployment(d))
}

// Step is a set of actions run together.
type Step struct {
	Actions []Action `json:"actions"`
}

// Action is one deployment action (StartApplication, ScaleApplication, …).
type Action struct {
	Action string `json:"action"`
	App    string `json:"app"`
}

// DeploymentResult is what a state-changing call answers.
type DeploymentResult struct {
	DeploymentID string `json:"deploymentId"`
	Version      string `json:"version"`
}

// QueueEntry is one app waiting for instances to be placed. Raw is its
// exact JSON.
type QueueEntry struct {
	App                    App           `json:"app"`
	Count                  int           `json:"count"`
	Delay                  QueueDelay    `json:"delay"`
	Since                  string        `json:"since"`
	ProcessedOffersSummary OffersSummary `json:"processedOffersSummary"`
	// Explanation is Berth's sentence on why instances are not placed.
	Explanation string `json:"explanation,omitempty"`

	Raw json.RawMessage `json:"-"`
}

type plainQueueEntry QueueEntry

// UnmarshalJSON decodes the entry and keeps its JSON in Raw.
func (q *QueueEntry) UnmarshalJSON(b []byte) error {
	var p plainQueueEntry
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*q = QueueEntry(p)
	q.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// MarshalJSON writes Raw when set, the fields otherwise.
func (q QueueEntry) MarshalJSON() ([]byte, error) {
	if q.Raw != nil {
		return q.Raw, nil
	}
	return json.Marshal(plainQueueEntry(q))
}

// QueueDelay is an entry's launch backoff.
type QueueDelay struct {
	TimeLeftSeconds int  `json:"timeLeftSeconds"`
	Overdue         bool `json:"overdue"`
}

// OffersSummary is an entry's processedOffersSummary.
type OffersSummary struct {
	ProcessedOffersCount    int            `json:"processedOffersCount"`
	UnusedOffersCount       int            `json:"unusedOffersCount"`
	RejectSummaryLastOffers []RejectReason `json:"rejectSummaryLastOffers"`
}

// RejectReason counts the offers (agents) declined for one reason.
type RejectReason struct {
	Reason    string `json:"reason"`
	Declined  int    `json:"declined"`
	Processed int    `json:"processed"`
}

// SortTasks orders tasks by app id, then task id.
func SortTasks(tasks []Task) {
	sort.SliceStable(tasks, func(i, j int) bool {
		if tasks[i].AppID != tasks[j].AppID {
			return tasks[i].AppID < tasks[j].AppID
		}
		return tasks[i].ID < tasks[j].ID
	})
}
