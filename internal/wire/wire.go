package wire

// Resources are an agent's total or free resources, or one task's needs.
type Resources struct {
	CPUs  float64     `json:"cpus"`
	Mem   float64     `json:"mem"`  // MiB
	Disk  float64     `json:"disk"` // MiB
	GPUs  float64     `json:"gpus"`
	Ports []PortRange `json:"ports,omitempty"`
}

// PortRange is an inclusive range of host ports.
type PortRange struct {
	Begin int `json:"begin"`
	End   int `json:"end"`
}

// Registration is what an agent sends when it (re)connects to a master.
type Registration struct {
	// ID is empty on the very first registration; afterwards the agent
	// sends the id the master gave it, so a restarted agent keeps its id.
	ID          string `json:"id,omitempty"`
	Hostname    string `json:"hostname"`
	AdvertiseIP string `json:"advertiseIp"`
	// URL is the agent's own HTTP API (logs, state), e.g. http://127.0.0.1:5051.
	URL        string            `json:"url"`
	Attributes map[string]string `json:"attributes,omitempty"`
	Resources  Resources         `json:"resources"`
	// Roles are the Mesos roles the agent's resources are offered to
	// (Marathon's acceptedResourceRoles); empty means ["*"].
	Roles []string `json:"roles,omitempty"`
	// Tasks is every task the agent currently runs or knows of, for
	// reconciliation: the master kills those it does not know and marks
	// TASK_LOST those it expected but which are absent.
	Tasks   []TaskStatus `json:"tasks"`
	Version string       `json:"version,omitempty"`
}

// Registered is the master's answer to a Registration.
type Registered struct {
	ID string `json:"id"`
	// HeartbeatSeconds is how often the agent must poll at the least; an
	// agent silent for the master's agent timeout is marked lost.
	HeartbeatSeconds float64 `json:"heartbeatSeconds"`
	// ClusterID is the cluster's identity, created with the master's
	// store; the agent labels every task with it (berth.cluster-id).
	ClusterID string `json:"clusterId,omitempty"`
}

// Desired is the whole set of tasks an agent must run now. Tasks absent
// from Tasks must not run on the agent (they are killed gracefully).
type Desired struct {
	// Index increases whenever the set changes; pass it back as ?index= to
	// long-poll for the next change.
	Index uint64     `json:"index"`
	Tasks []TaskSpec `json:"tasks"`
	// Kill lists task ids to stop (gracefully) even though their specs are
	// gone; tasks neither in Tasks nor in Kill are also stopped.
	Kill []string `json:"kill,omitempty"`
	// Epoch names the master's record of this agent (a new one after a
	// master restart, a leader change or a new registration); an index is
	// only comparable within one epoch.
	Epoch string `json:"epoch,omitempty"`
	// Unchanged, set only when the agent passed ?epoch= with this epoch
	// and ?index= equal to Index, means "the set you hold is still the
	// whole desired set": Tasks and Kill are empty and must be ignored.
	// An agent that does not pass ?epoch= always gets the whole set.
	Unchanged bool `json:"unchanged,omitempty"`
}

// TaskSpec is everything an agent needs to launch one task.
type TaskSpec struct {
	TaskID     string            `json:"taskId"`
	AppID      string            `json:"appId"`
	AppVersion string            `json:"appVersion"`
	Cmd        string            `json:"cmd,omitempty"`
	Args       []string          `json:"args,omitempty"`
	User       string            `json:"user,omitempty"`
	Env        map[string]string `json:"env,omitempty"`    // the app's env, applied after Marathon's variables
	Labels     map[string]string `json:"labels,omitempty"` // the app's labels
	Resources  Resources         `json:"resources"`        // per-instance cpus/mem/disk/gpus (Ports unused)
	// Ports are the placed host ports, one per port definition / port
	// mapping that needs one, in order (PORT0, PORT1, …).
	Ports []TaskPort `json:"ports,omitempty"`
	// Container is nil for a process task (run with /bin/sh -c Cmd or Args).
	Container    *Container    `json:"container,omitempty"`
	HealthChecks []HealthCheck `json:"healthChecks,omitempty"`
	// KillGracePeriodSeconds is the time between SIGTERM and SIGKILL.
	KillGracePeriodSeconds float64 `json:"killGracePeriodSeconds"`
	// DrainSeconds is how long the task stays out of the load balancer
	// before SIGTERM.
	DrainSeconds float64 `json:"drainSeconds"`
	// Fetch are the app's fetch/uris entries, fetched into the sandbox
	// before a process task starts (agent/fetch.go).
	Fetch []FetchURI `json:"fetch,omitempty"`
}

// FetchURI is Marathon's fetch entry: a local path, file://, http:// or
// https:// URI, extracted when it is an archive and Extract is set, made
// executable when Executable is set; DestPath names the file in the sandbox.
type FetchURI struct {
	URI        string `json:"uri"`
	Extract    bool   `json:"extract,omitempty"`
	Executable bool   `json:"executable,omitempty"`
	DestPath   string `json:"destPath,omitempty"`
}

// TaskPort is one port of a task.
type TaskPort struct {
	Index         int               `json:"index"`
	Name          string            `json:"name,omitempty"`
	Protocol      string            `json:"protocol,omitempty"` // tcp (default), udp, "udp,tcp"
	HostPort      int               `json:"hostPort"`           // 0 when the port needs no host port (USER networks)
	ContainerPort int               `json:"containerPort"`      // bridge/user mapping; 0 = same as HostPort
	ServicePort   int               `json:"servicePort"`
	Labels        map[string]string `json:"labels,omitempty"`
}

// Container is a Docker container spec.
type Container struct {
	Type           string     `json:"type"` // DOCKER
	Image          string     `json:"image"`
	Network        string     `json:"network"` // BRIDGE, HOST, USER
	NetworkName    string     `json:"networkName,omitempty"`
	Privileged     bool       `json:"privileged,omitempty"`
	Parameters     []KeyValue `json:"parameters,omitempty"`
	ForcePullImage bool       `json:"forcePullImage,omitempty"`
	Volumes        []Volume   `json:"volumes,omitempty"`
}

// KeyValue is a docker parameter (e.g. {"key":"label","value":"a=b"}).
type KeyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Volume is a host volume.
type Volume struct {
	HostPath      string `json:"hostPath"`
	ContainerPath string `json:"containerPath"`
	Mode          string `json:"mode"` // RO or RW
}

// HealthCheck is one of the app's health checks with Marathon's fields.
type HealthCheck struct {
	Protocol               string `json:"protocol"` // HTTP, HTTPS, TCP, COMMAND (MESOS_* accepted as aliases)
	Path                   string `json:"path,omitempty"`
	PortIndex              int    `json:"portIndex"`
	Port                   int    `json:"port,omitempty"`
	Command                string `json:"command,omitempty"`
	GracePeriodSeconds     int    `json:"gracePeriodSeconds"`
	IntervalSeconds        int    `json:"intervalSeconds"`
	TimeoutSeconds         int    `json:"timeoutSeconds"`
	MaxConsecutiveFailures int    `json:"maxConsecutiveFailures"`
	IgnoreHTTP1xx          bool   `json:"ignoreHttp1xx,omitempty"`
}

// Task states, Mesos names.
const (
	TaskStaging     = "TASK_STAGING"
	TaskStarting    = "TASK_STARTING"
	TaskRunning     = "TASK_RUNNING"
	TaskFinished    = "TASK_FINISHED"
	TaskFailed      = "TASK_FAILED"
	TaskKilling     = "TASK_KILLING"
	TaskKilled      = "TASK_KILLED"
	TaskLost        = "TASK_LOST"
	TaskError       = "TASK_ERROR"
	TaskUnreachable = "TASK_UNREACHABLE"
)

// TaskStatus is one status update about one task.
type TaskStatus struct {
	// Seq is the agent's sequence number for this update; the master acks by Seq.
	Seq      uint64 `json:"seq"`
	TaskID   string `json:"taskId"`
	AppID    string `json:"appId"`
	State    string `json:"state"`
	Message  string `json:"message,omitempty"`
	ExitCode *int   `json:"exitCode,omitempty"`
	// Timestamp is RFC 3339 with milliseconds, set by the agent.
	Timestamp   string `json:"timestamp"`
	ContainerID string `json:"containerId,omitempty"`
	Host        string `json:"host,omitempty"`
	IPAddress   string `json:"ipAddress,omitempty"`
	HostPorts   []int  `json:"hostPorts,omitempty"`
	// Health holds one result per health check, in the app's order; nil
	// when the app has no health checks.
	Health []HealthResult `json:"health,omitempty"`
}

// HealthResult is Marathon's healthCheckResults entry.
type HealthResult struct {
	Alive               bool   `json:"alive"`
	ConsecutiveFailures int    `json:"consecutiveFailures"`
	FirstSuccess        string `json:"firstSuccess,omitempty"`
	LastFailure         string `json:"lastFailure,omitempty"`
	LastSuccess         string `json:"lastSuccess,omitempty"`
	LastFailureCause    string `json:"lastFailureCause,omitempty"`
}

// StatusBatch carries status updates from an agent.
type StatusBatch struct {
	Updates []TaskStatus `json:"updates"`
}

// Ack acknowledges status updates up to and including Seq values listed.
type Ack struct {
	Acked []uint64 `json:"acked"`
}

// AgentState is the agent's own view, served at GET /v1/state.
type AgentState struct {
	ID        string       `json:"id"`
	Hostname  string       `json:"hostname"`
	Master    string       `json:"master"`
	Resources Resources    `json:"resources"`
	Tasks     []TaskStatus `json:"tasks"`
}

// Error is the body of any non-2xx answer on the internal API.
type Error struct {
	Message string `json:"message"`
}

// AgentTasks is the agent's task list, served at GET /v1/tasks: every task
// it knows with what the registrator needs to register it (a process
// task's services are written to Consul by the registrator from this list,
// exactly as a container's are from its labels).
type AgentTasks struct {
	// Index increases whenever the list changes; pass it back as ?index=
	// (with ?wait=) to long-poll for the next change. An agent restart
	// starts again from 1, so a smaller index means "start over".
	Index     uint64      `json:"index"`
	AgentID   string      `json:"agentId"`
	Hostname  string      `json:"hostname"`
	ClusterID string      `json:"clusterId,omitempty"`
	Tasks     []AgentTask `json:"tasks"`
}

// AgentTask is one task in the agent's task list.
type AgentTask struct {
	TaskID     string `json:"taskId"`
	AppID      string `json:"appId"`
	AppVersion string `json:"appVersion,omitempty"`
	Runtime    string `json:"runtime"` // docker or process
	State      string `json:"state"`
	ClusterID  string `json:"clusterId,omitempty"`
	// Labels are the labels a container of the task carries (berth.*
	// and the app's own), for process tasks too.
	Labels map[string]string `json:"labels,omitempty"`
	// Env holds the SERVICE_* entries of the task's environment
	// (registrator reads them from a container's env too).
	Env       []string `json:"env,omitempty"`
	HostPorts []int    `json:"hostPorts,omitempty"`
	// Healthy is the agent's Marathon health of the task once every one
	// of its health checks has a result: true when all are alive, false
	// when one is not; absent without checks or before every check ran.
	Healthy *bool `json:"healthy,omitempty"`
}
