package registrator

import (
	"net"
	"sort"
	"strconv"
	"strings"
	"time"
)

// berthTask is what the Berth agent's labels say about a container.
type berthTask struct {
	labels  map[string]string
	ports   map[int]berthPort
	indexes []int // sorted keys of ports
	health  []berthHealth
}

type berthPort struct {
	service   string // servicePort
	container string // container port (host port for host networking)
	name      string
}

type berthHealth struct {
	index     int
	protocol  string // upper-case, MESOS_ prefix removed
	path      string
	portIndex int
	interval  string // Consul duration, "" = default
	timeout   string
	// Whole seconds as the labels give them ("" when absent or not an
	// integer), for the berth_check_* Meta.
	intervalS, timeoutS, graceS, maxFailures string
}

// endpoint is the registered address of one port index, the target of the
// health check that names it.
type endpoint struct {
	addr string
	port int
}

// parseBerth reads the berth.* labels; nil when the container is not a Berth
// task (no berth.task-id). Malformed labels are reported and skipped.
func parseBerth(c Container) (*berthTask, []Skip) {
	if c.Labels[LabelTaskID] == "" {
		return nil, nil
	}
	bt := &berthTask{labels: c.Labels, ports: map[int]berthPort{}}
	var skips []Skip
	healthByIndex := map[int]map[string]string{}
	for k, v := range c.Labels {
		switch {
		case strings.HasPrefix(k, labelPortPrefix):
			i, field, ok := indexedLabel(strings.TrimPrefix(k, labelPortPrefix))
			if !ok {
				skips = append(skips, Skip{Container: c.Name, Reason: "label " + k + " ignored: want berth.port.<i>.<field>"})
				continue
			}
			bp := bt.ports[i]
			switch field {
			case "service":
				bp.service = v
			case "container":
				bp.container = v
			case "name":
				bp.name = v
			}
			bt.ports[i] = bp
		case strings.HasPrefix(k, labelHealth):
			j, field, ok := indexedLabel(strings.TrimPrefix(k, labelHealth))
			if !ok {
				skips = append(skips, Skip{Container: c.Name, Reason: "label " + k + " ignored: want berth.health.<j>.<field>"})
				continue
			}
			if healthByIndex[j] == nil {
				healthByIndex[j] = map[string]string{}
			}
			healthByIndex[j][field] = v
		}
	}
	for i := range bt.ports {
		bt.indexes = append(bt.indexes, i)
	}
	sort.Ints(bt.indexes)
	for j, fields := range healthByIndex {
		h, reason := parseHealth(j, fields)
		if reason != "" {
			skips = append(skips, Skip{Container: c.Name, Reason: reason})
			continue
		}
		bt.health = append(bt.health, h)
	}
	sort.Slice(bt.health, func(a, b int) bool { return bt.health[a].index < bt.health[b].index })
	return bt, skips
}

// indexedLabel splits "3.container" into 3, "container".
func indexedLabel(s string) (int, string, bool) {
	num, field, ok := strings.Cut(s, ".")
	i, err := strconv.Atoi(num)
	if !ok || err != nil || i < 0 || field == "" {
		return 0, "", false
	}
	return i, field, true
}

func parseHealth(j int, f map[string]string) (berthHealth, string) {
	h := berthHealth{index: j, path: f["path"], intervalS: wholeSeconds(f["interval"]), timeoutS: wholeSeconds(f["timeout"]),
		graceS: wholeSeconds(f["grace"]), maxFailures: wholeSeconds(f["max-failures"])}
	h.protocol = strings.TrimPrefix(strings.ToUpper(f["protocol"]), "MESOS_")
	if h.protocol == "" {
		h.protocol = "HTTP" // Marathon's default protocol
	}
	if v := f["port-index"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return h, "health check " + strconv.Itoa(j) + " ignored: port-index " + strconv.Quote(v) + " is not a port index"
		}
		h.portIndex = n
	}
	var ok bool
	if h.interval, ok = seconds(f["interval"]); !ok {
		return h, "health check " + strconv.Itoa(j) + " ignored: interval " + strconv.Quote(f["interval"]) + " is not a duration"
	}
	if h.timeout, ok = seconds(f["timeout"]); !ok {
		return h, "health check " + strconv.Itoa(j) + " ignored: timeout " + strconv.Quote(f["timeout"]) + " is not a duration"
	}
	return h, ""
}

// wholeSeconds keeps a label value that is a non-negative integer, else "".
func wholeSeconds(v string) string {
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return strconv.Itoa(n)
	}
	return ""
}

// seconds turns a label duration ("10" seconds, or a Go duration "1500ms")
// into a Consul duration; "" stays "" (Consul's or our default).
func seconds(v string) (string, bool) {
	if v == "" {
		return "", true
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return strconv.Itoa(n) + "s", true
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return "", false
	}
	return d.String(), true
}

// indexFor finds the port index whose container port is exposed.
func (bt *berthTask) indexFor(exposed string) (int, bool) {
	for _, i := range bt.indexes {
		if bt.ports[i].container == exposed {
			return i, true
		}
	}
	return 0, false
}

// addMeta adds Berth's Meta keys to fixed and the app's HAPROXY_GROUP,
// HAPROXY_DEPLOYMENT_* and HAPROXY_<idx>_* labels to attrs.
func (bt *berthTask) addMeta(fixed, attrs map[string]string, idx int, hasIdx bool) {
	fixed[MetaApp] = bt.labels[LabelAppID]
	fixed[MetaTask] = bt.labels[LabelTaskID]
	fixed[MetaVersion] = bt.labels[LabelAppVersion]
	fixed[MetaAgent] = bt.labels[LabelAgentID]
	if c := bt.labels[LabelClusterID]; c != "" {
		fixed[MetaCluster] = c
	}
	if !hasIdx {
		return
	}
	fixed[MetaPortIndex] = strconv.Itoa(idx)
	bt.addCheckMeta(fixed, idx)
	if sp := bt.ports[idx].service; sp != "" && sp != "0" {
		fixed[MetaServicePort] = sp
	}
	if g, ok := bt.labels["HAPROXY_GROUP"]; ok {
		attrs["HAPROXY_GROUP"] = g
	}
	prefix := "HAPROXY_" + strconv.Itoa(idx) + "_"
	for k, v := range bt.labels {
		if strings.HasPrefix(k, prefix) && len(k) > len(prefix) ||
			strings.HasPrefix(k, deploymentPrefix) && len(k) > len(deploymentPrefix) {
			attrs[k] = v
		}
	}
}

// deploymentPrefix starts marathon-lb's blue/green labels
// (HAPROXY_DEPLOYMENT_GROUP, _ALT_PORT, _COLOUR, …): app-level, exported
// with the routed port's Meta so lbsync can pair the colours.
const deploymentPrefix = "HAPROXY_DEPLOYMENT_"

// endpoints maps each Berth port index to its registered address.
func (bt *berthTask) endpoints(c Container, published []port, opts Options) map[int]endpoint {
	out := map[int]endpoint{}
	for _, p := range published {
		if p.proto != "tcp" {
			continue
		}
		if idx, ok := bt.indexFor(p.exposed); ok {
			addr, n := address(c, p, opts)
			out[idx] = endpoint{addr: addr, port: n}
		}
	}
	return out
}

// check mirrors the app's first HTTP/HTTPS/TCP health check as a Consul
// check against the registered address of the port it names. Every service
// of the task gets it: Marathon's task health is per task, not per port.
// Interval and timeout carry over; grace and max-failures have no Consul
// equivalent that keeps "critical until proven healthy", so they don't.
func (bt *berthTask) check(endpoints map[int]endpoint) (*Check, string) {
	var note string
	for _, h := range bt.health {
		switch h.protocol {
		case "HTTP", "HTTPS", "TCP":
		default:
			note = "health check " + strconv.Itoa(h.index) + " (" + h.protocol + ") has no Consul equivalent"
			continue
		}
		ep, ok := endpoints[h.portIndex]
		if !ok {
			note = "health check " + strconv.Itoa(h.index) + ": port index " + strconv.Itoa(h.portIndex) + " is not published"
			continue
		}
		target := net.JoinHostPort(ep.addr, strconv.Itoa(ep.port))
		ck := &Check{Interval: h.interval, Timeout: h.timeout}
		if ck.Interval == "" {
			ck.Interval = DefaultCheckInterval
		}
		switch h.protocol {
		case "TCP":
			ck.TCP = target
		case "HTTPS":
			// Marathon does not verify the certificate of HTTPS health checks.
			ck.HTTP, ck.TLSSkipVerify = "https://"+target+healthPath(h.path), true
		default:
			ck.HTTP = "http://" + target + healthPath(h.path)
		}
		return ck, ""
	}
	if note != "" {
		note += "; registered without a check"
	}
	return nil, note
}

func healthPath(p string) string {
	if !strings.HasPrefix(p, "/") {
		return "/" + p
	}
	return p
}

// addCheckMeta writes the berth_check_* keys from the first HTTP, HTTPS or
// TCP health check on port index idx.
func (bt *berthTask) addCheckMeta(fixed map[string]string, idx int) {
	for _, h := range bt.health {
		if h.portIndex != idx || (h.protocol != "HTTP" && h.protocol != "HTTPS" && h.protocol != "TCP") {
			continue
		}
		fixed[MetaCheckProtocol] = h.protocol
		if h.protocol != "TCP" {
			fixed[MetaCheckPath] = healthPath(h.path)
		}
		for k, v := range map[string]string{
			MetaCheckInterval: h.intervalS, MetaCheckTimeout: h.timeoutS,
			MetaCheckMaxFailures: h.maxFailures, MetaCheckGrace: h.graceS,
		} {
			if v != "" {
				fixed[k] = v
			}
		}
		return
	}
}

// ForeignPrefix starts the skip reason of another cluster's task.
const ForeignPrefix = "foreign cluster: "

// ForeignReason says why a Berth task's labels make it another cluster's
// (ForeignPrefix + why), or "" when it is this cluster's, not a Berth
// task, or no cluster is set.
func ForeignReason(labels map[string]string, cluster string) string {
	if cluster == "" || labels[LabelTaskID] == "" {
		return ""
	}
	switch got := labels[LabelClusterID]; got {
	case cluster:
		return ""
	case "":
		return ForeignPrefix + "Berth task without berth.cluster-id; this registrator serves cluster " + cluster
	default:
		return ForeignPrefix + "berth.cluster-id " + got + " is not this registrator's cluster " + cluster
	}
}
