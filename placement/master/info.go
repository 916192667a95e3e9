package master

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/berth-platform/berth/placement/election"
)

// candidateLister is the optional part of a Leadership that lists the
// group's masters (ha.Node: the election's candidate znodes).
type candidateLister interface {
	Candidates(ctx context.Context) ([]election.Candidate, error)
}

var errNoCandidates = errors.New("the election does not list its candidates")

// MarathonVersion is the Marathon API version Berth answers as in
// GET /v2/info (clients gate features on it).
const MarathonVersion = "1.10.0"

// infoBody is GET /v2/info with Marathon's keys and JSON types only;
// Berth's own settings live under the separate top-level "berth" key.
type infoBody struct {
	Name            string           `json:"name"`
	Version         string           `json:"version"`
	Buildref        string           `json:"buildref"`
	Elected         bool             `json:"elected"`
	Leader          *string          `json:"leader"`
	FrameworkID     string           `json:"frameworkId"`
	MarathonConfig  marathonConfig   `json:"marathon_config"`
	ZookeeperConfig zookeeperConfig  `json:"zookeeper_config"`
	EventSubscriber *eventSubscriber `json:"event_subscriber"`
	HTTPConfig      httpConfig       `json:"http_config"`
	Berth           map[string]any   `json:"berth"`
}

// marathonConfig holds the keys of Marathon 1.x's marathon_config.
type marathonConfig struct {
	Master                         string   `json:"master"`
	FailoverTimeout                int      `json:"failover_timeout"`
	FrameworkName                  string   `json:"framework_name"`
	HA                             bool     `json:"ha"`
	Checkpoint                     bool     `json:"checkpoint"`
	LocalPortMin                   int      `json:"local_port_min"`
	LocalPortMax                   int      `json:"local_port_max"`
	Executor                       string   `json:"executor"`
	Hostname                       string   `json:"hostname"`
	WebuiURL                       *string  `json:"webui_url"`
	MesosRole                      *string  `json:"mesos_role"`
	TaskLaunchTimeout              int      `json:"task_launch_timeout"`
	TaskReservationTimeout         int      `json:"task_reservation_timeout"`
	ReconciliationInitialDelay     int      `json:"reconciliation_initial_delay"`
	ReconciliationInterval         int      `json:"reconciliation_interval"`
	MesosUser                      string   `json:"mesos_user"`
	LeaderProxyConnectionTimeoutMs int      `json:"leader_proxy_connection_timeout_ms"`
	LeaderProxyReadTimeoutMs       int      `json:"leader_proxy_read_timeout_ms"`
	Features                       []string `json:"features"`
	MesosLeaderUIURL               *string  `json:"mesos_leader_ui_url"`
}

type zookeeperConfig struct {
	ZK               string `json:"zk"`
	ZKTimeout        int    `json:"zk_timeout"`
	ZKSessionTimeout int    `json:"zk_session_timeout"`
	ZKMaxVersions    int    `json:"zk_max_versions"`
}

type eventSubscriber struct {
	Type          string   `json:"type"`
	HTTPEndpoints []string `json:"http_endpoints"`
}

// httpConfig: the port the API is served on is http_port, or https_port
// with TLS; the other one is 0 (Berth has one listener).
type httpConfig struct {
	HTTPPort  int `json:"http_port"`
	HTTPSPort int `json:"https_port"`
}

// info builds GET /v2/info's body.
func (m *Master) info(ctx context.Context) infoBody {
	host, portText, _ := strings.Cut(m.self(), ":")
	port, _ := strconv.Atoi(portText)
	var leader *string
	if l := m.leader(); l != "" {
		leader = &l
	}
	hc := httpConfig{HTTPPort: port}
	scheme := "http"
	if m.cfg.TLS {
		hc, scheme = httpConfig{HTTPSPort: port}, "https"
	}
	master := scheme + "://" + m.self()
	if m.cfg.ZK != "" {
		master = m.cfg.ZK
	}
	webui := scheme + "://" + m.self() + "/ui/"
	return infoBody{
		Name: "marathon", Version: MarathonVersion, Buildref: "berth", Elected: m.elected(), Leader: leader,
		FrameworkID: "berth",
		MarathonConfig: marathonConfig{
			Master: master, FailoverTimeout: 604800, FrameworkName: "berth", HA: m.cfg.Leadership != nil,
			Checkpoint: true, LocalPortMin: m.spMin(), LocalPortMax: m.spMax(), Executor: "//cmd",
			Hostname: host, WebuiURL: &webui, TaskLaunchTimeout: int(LaunchTimeout.Milliseconds()),
			TaskReservationTimeout: 20000, ReconciliationInitialDelay: 0,
			ReconciliationInterval: int(m.cfg.Interval.Milliseconds()), MesosUser: "root",
			LeaderProxyConnectionTimeoutMs: 5000, LeaderProxyReadTimeoutMs: 10000, Features: []string{},
		},
		ZookeeperConfig: zookeeperConfig{ZK: m.cfg.ZK, ZKTimeout: 10000, ZKSessionTimeout: 10000,
			ZKMaxVersions: m.cfg.MaxVersions},
		HTTPConfig: hc, EventSubscriber: m.eventSubscriber(),
		Berth: m.berthInfo(ctx, scheme),
	}
}

// berthInfo is /v2/info's "berth" object: Berth's own settings, which
// Marathon's marathon_config does not have, and the group's masters.
func (m *Master) berthInfo(ctx context.Context, scheme string) map[string]any {
	st := "embedded"
	if m.cfg.ZK != "" {
		st = "zookeeper"
	}
	out := map[string]any{
		"agentTimeoutSeconds": m.cfg.AgentTimeout.Seconds(),
		"clusterId":           m.clusterIDInfo(),
		"store":               st,
		"tls":                 m.cfg.TLS,
	}
	masters, err := m.masters(ctx, scheme)
	if err != nil {
		out["mastersError"] = err.Error()
	} else {
		out["masters"] = masters
	}
	return out
}

// masters lists the masters of the group, the leader first: a single
// master is its own leader; in a ZooKeeper group they are the election's
// candidates, read from ZooKeeper on each call.
func (m *Master) masters(ctx context.Context, scheme string) ([]election.Candidate, error) {
	l := m.cfg.Leadership
	if l == nil {
		return []election.Candidate{{URL: scheme + "://" + m.self(), Leader: true}}, nil
	}
	cl, ok := l.(candidateLister)
	if !ok {
		return nil, errNoCandidates
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return cl.Candidates(ctx)
}

// handleInfo serves GET /v2/info.
func (m *Master) handleInfo(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, m.info(r.Context()))
}
