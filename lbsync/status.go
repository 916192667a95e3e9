package lbsync

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Event is one apply of one target.
type Event struct {
	At       time.Time     `json:"at"`
	Target   string        `json:"target"`
	Action   string        `json:"action"`
	Why      string        `json:"why,omitempty"`
	Commands int           `json:"commands,omitempty"`
	Duration time.Duration `json:"durationNs"`
	Err      string        `json:"error,omitempty"`
}

// Status is what GET /routes returns and `berth routes` shows.
type Status struct {
	LastRender  time.Time `json:"lastRender,omitzero"`
	LastError   string    `json:"lastError,omitempty"`
	LastErrorAt time.Time `json:"lastErrorAt,omitzero"`
	HTTPPort    int       `json:"httpPort"`
	Default     string    `json:"default,omitempty"`
	Services    []Service `json:"services"`
	Routes      []Route   `json:"routes"`
	// Unrouted are instances claiming servicePorts that have no service
	// (a foreign cluster's, or a port no app of the master owns).
	Unrouted []Excluded `json:"unrouted,omitempty"`
	// ClusterID is the cluster whose instances are routed ("" = all).
	ClusterID string `json:"clusterId,omitempty"`
	// Ownership says who decides which app owns a servicePort: "master"
	// (its record is known) or "instances" (no --master, or no answer yet).
	Ownership string           `json:"ownership"`
	Warnings  []string         `json:"warnings,omitempty"`
	Events    []Event          `json:"events,omitempty"` // the last apply of each target
	Templates []TemplateStatus `json:"templates,omitempty"`
	// Consul is the Consul source's state (nil: the source cannot tell).
	Consul *ConsulStatus `json:"consul,omitempty"`
	// HAProxy is the HAProxy target's (nil: no HAProxy target).
	HAProxy *HAProxyStatus `json:"haproxy,omitempty"`
}

// metrics are the Prometheus series of one Syncer.
type metrics struct {
	renders     *prometheus.CounterVec
	reloads     *prometheus.CounterVec
	runtime     *prometheus.CounterVec
	validation  *prometheus.CounterVec
	errors      *prometheus.CounterVec
	snapshots   prometheus.Counter
	warnings    prometheus.Gauge
	services    prometheus.Gauge
	backends    prometheus.Gauge
	excluded    *prometheus.GaugeVec
	applyTime   *prometheus.HistogramVec
	lastSuccess prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	m := &metrics{
		renders: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "berth_lbsync_renders_total",
			Help: "Config renders, by target."}, []string{"target"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "berth_lbsync_reloads_total",
			Help: "Reloads (and starts), by target and result."}, []string{"target", "result"}),
		runtime: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "berth_lbsync_runtime_updates_total",
			Help: "HAProxy Runtime API membership updates applied without a reload, by result."}, []string{"result"}),
		validation: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "berth_lbsync_validation_failures_total",
			Help: "Rendered configs refused by haproxy -c / nginx -t, by target."}, []string{"target"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "berth_lbsync_apply_errors_total",
			Help: "Failed applies, by target."}, []string{"target"}),
		snapshots: prometheus.NewCounter(prometheus.CounterOpts{Name: "berth_lbsync_snapshots_total",
			Help: "Snapshots received from Consul."}),
		warnings: prometheus.NewGauge(prometheus.GaugeOpts{Name: "berth_lbsync_label_warnings",
			Help: "Rejected labels, instances and routes in the current model."}),
		services: prometheus.NewGauge(prometheus.GaugeOpts{Name: "berth_lbsync_services",
			Help: "servicePorts in the current model."}),
		backends: prometheus.NewGauge(prometheus.GaugeOpts{Name: "berth_lbsync_backends",
			Help: "Backends in the current model."}),
		excluded: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "berth_lbsync_excluded_instances",
			Help: "Instances in the current model that are not routed, by reason (not ready, unhealthy, draining, foreign cluster, stale owner)."},
			[]string{"reason"}),
		applyTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "berth_lbsync_apply_seconds",
			Help: "Time to apply a model, by target and action.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)},
			[]string{"target", "action"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Name: "berth_lbsync_last_success_timestamp_seconds",
			Help: "When every target last applied without error."}),
	}
	f(m.renders)
	f(m.reloads)
	f(m.runtime)
	f(m.validation)
	f(m.errors)
	f(m.snapshots)
	f(m.warnings)
	f(m.services)
	f(m.backends)
	f(m.excluded)
	f(m.applyTime)
	f(m.lastSuccess)
	return m
}

// Handler serves GET /routes (Status as JSON) and GET /metrics.
func (s *Syncer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /routes", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(s.withLBStates(r.Context(), s.Status()))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))
	return statusAuth(s.cfg.StatusCredentials, mux)
}

// statusAuth requires creds ("user:pass") as basic auth, compared in
// constant time; empty creds: open.
func statusAuth(creds string, next http.Handler) http.Handler {
	if creds == "" {
		return next
	}
	want := []byte(creds)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u+":"+p), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="lbsync"`)
			http.Error(w, "lbsync status: invalid or missing credentials (lbsync --status-credentials; berth routes --lbsync-credentials)", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
