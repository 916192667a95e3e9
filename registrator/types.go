package registrator

import (
	"errors"
	"text/template"
	"time"
)

// Meta keys this registrator writes on every service besides the
// registrator-style SERVICE_* attributes.
const (
	// MetaOwner marks a service as written by the registrator whose owner id
	// (by default the hostname) is the value. Only services carrying this
	// registrator's owner are ever deregistered by it.
	MetaOwner = "berth_registrator"
	// MetaContainer is the short (12-character) id of the container the
	// service belongs to.
	MetaContainer = "berth_container"
	// MetaFingerprint is a hash over everything registered (name, address,
	// port, tags, other Meta, check); a differing hash means "re-register".
	MetaFingerprint = "berth_registration"

	// Berth's own keys, present on services of containers a Berth agent
	// started (those carrying the berth.task-id label).
	MetaApp         = "berth_app"
	MetaTask        = "berth_task"
	MetaVersion     = "berth_version"
	MetaAgent       = "berth_agent"
	MetaPortIndex   = "berth_port_index"
	MetaServicePort = "berth_service_port"
	// MetaCluster is the task's cluster id (berth.cluster-id).
	MetaCluster = "berth_cluster"
	// The port's first HTTP/HTTPS/TCP Marathon health check, for lbsync's
	// HAProxy server checks; durations in whole seconds.
	MetaCheckProtocol    = "berth_check_protocol"
	MetaCheckPath        = "berth_check_path"
	MetaCheckInterval    = "berth_check_interval"
	MetaCheckTimeout     = "berth_check_timeout"
	MetaCheckMaxFailures = "berth_check_max_failures"
	MetaCheckGrace       = "berth_check_grace"

	// TagBerth is added to every service of a Berth container.
	TagBerth = "berth"
)

// Docker labels the Berth agent puts on its containers (see DESIGN.md).
const (
	LabelTaskID     = "berth.task-id"
	LabelAppID      = "berth.app-id"
	LabelAppVersion = "berth.app-version"
	LabelAgentID    = "berth.agent-id"
	LabelClusterID  = "berth.cluster-id"
	labelPortPrefix = "berth.port."
	labelHealth     = "berth.health."
)

// ErrNotFound is returned by Docker.Inspect for a container that no longer
// exists.
var ErrNotFound = errors.New("no such container")

// Container is what the naming rules need to know about one container: the
// fields of `docker inspect` registrator reads, already flattened.
type Container struct {
	ID    string // full id
	Name  string // without the leading "/"
	Image string // Config.Image as given at creation, e.g. "gliderlabs/foobar:1.2"

	Env    []string          // Config.Env, "KEY=value", in order
	Labels map[string]string // Config.Labels

	Running    bool
	Paused     bool
	Restarting bool   // waiting to be restarted by its restart policy
	ExitCode   int    // meaningful when not running
	Health     string // Docker HEALTHCHECK status: "" (none), starting, healthy, unhealthy
	// AgentHealthy: the Berth agent running this task reports it healthy
	// on every Marathon health check (its task list); the mirrored Consul
	// check is then registered with initial status passing, so the task
	// is routed without waiting for Consul's first probe.
	AgentHealthy bool

	// NetworkMode is HostConfig.NetworkMode: bridge, default, host,
	// container:<id>, or a user-defined network's name.
	NetworkMode string
	// IP is the container's address: NetworkSettings.IPAddress, or the
	// address on its first network (by name) when that is empty.
	IP string
	// NetworkIPs are the container's addresses by network name.
	NetworkIPs map[string]string
	// NetworkContainerIP is, for NetworkMode container:<id>, the IP of that
	// other container (the caller looks it up; empty if unknown).
	NetworkContainerIP string

	// ExposedPorts are Config.ExposedPorts keys, e.g. "80/tcp".
	ExposedPorts []string
	// Ports is NetworkSettings.Ports: exposed port → host bindings (nil or
	// empty when not published).
	Ports map[string][]Binding

	// Inspect is the raw `docker inspect` value (the Docker adapter puts a
	// types.ContainerJSON here) that -tags templates are executed over; nil
	// means the templates see this Container.
	Inspect any `json:"-"`
}

// Binding is one host binding of a published port.
type Binding struct {
	HostIP   string
	HostPort string
}

// Service is one Consul service registration.
type Service struct {
	ID      string
	Name    string
	Address string
	Port    int
	Tags    []string
	Meta    map[string]string
	Check   *Check
}

// Check is the one Consul check of a service. Exactly one of HTTP, TCP,
// GRPC, Args or TTL is set.
type Check struct {
	HTTP          string   `json:",omitempty"` // full URL
	Method        string   `json:",omitempty"`
	TCP           string   `json:",omitempty"` // host:port
	GRPC          string   `json:",omitempty"` // host:port
	GRPCUseTLS    bool     `json:",omitempty"`
	TLSSkipVerify bool     `json:",omitempty"`
	Args          []string `json:",omitempty"` // script check
	TTL           string   `json:",omitempty"`
	Interval      string   `json:",omitempty"`
	Timeout       string   `json:",omitempty"`
	// Status is the initial status; empty means Consul's default (critical).
	Status string `json:",omitempty"`
	// DeregisterCriticalServiceAfter removes the service after it has been
	// critical that long (Consul's minimum is 1m).
	DeregisterCriticalServiceAfter string `json:",omitempty"`
	// ForceStatus applies Status even to a check Consul already has
	// (Consul keeps an existing check's status on re-registration): the
	// registry removes the old check first. Set for a Berth task its
	// agent reports healthy. Not part of the fingerprint.
	ForceStatus bool `json:"-"`
}

// Skip records why a container, or one of its ports, yields no service or
// lost part of its registration. Port is empty for the whole container.
type Skip struct {
	Container string // container name
	Port      string // exposed port, e.g. "80/tcp"; empty for the container
	Reason    string
}

// Options are registrator's naming flags plus this host's identity.
type Options struct {
	// Hostname goes into service IDs (hostname:container:port). Empty means
	// the binding's host IP, as registrator does.
	Hostname string
	// HostIP is the address Hostname resolves to; it replaces a 0.0.0.0
	// binding. Empty leaves 0.0.0.0 (registrator's behaviour when the
	// hostname does not resolve).
	HostIP string
	// ForceIP is -ip: the address of every service.
	ForceIP string
	// Internal is -internal: container IP and exposed port, unpublished
	// ports included.
	Internal bool
	// Explicit is -explicit: only containers with SERVICE_NAME (or
	// SERVICE_<port>_NAME).
	Explicit bool
	// UseIPFromLabel is -useIpFromLabel: take the address from that label.
	UseIPFromLabel string
	// Tags is -tags: a comma-separated list (\, escapes a comma) appended
	// to every service's tags.
	Tags string
	// TagsTemplate is -tags parsed by ParseTagsTemplate when it holds Go
	// template actions; it is executed per container and its output used
	// as Tags.
	TagsTemplate *template.Template
	// Owner is written as Meta berth_registrator on every service.
	Owner string
	// ClusterID, when set, is the only cluster whose Berth tasks are
	// registered: a Berth container (berth.task-id) with another or no
	// berth.cluster-id is skipped as foreign. Non-Berth containers are
	// unaffected.
	ClusterID string
}

// Event is one Docker container event.
type Event struct {
	ContainerID string
	Action      string // start, die, health_status: healthy, …
	Time        time.Time
}
