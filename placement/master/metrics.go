package master

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics is the master's own Prometheus registry (no globals).
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
}

func newMetrics(m *Master) *metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mx := &metrics{reg: reg, requests: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "berth_master_http_requests_total", Help: "HTTP requests served, by method and status code."},
		[]string{"method", "code"})}
	reg.MustRegister(mx.requests)
	gauge := func(name, help string, f func() float64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
	}
	locked := func(f func() int) func() float64 {
		return func() float64 {
			m.mu.Lock()
			defer m.mu.Unlock()
			return float64(f())
		}
	}
	gauge("berth_master_apps", "Apps defined.", locked(func() int { return len(m.apps) }))
	gauge("berth_master_tasks", "Tasks known (non-terminal).", locked(func() int { return len(m.tasks) }))
	gauge("berth_master_deployments", "Running deployments.", locked(func() int { return len(m.deployments) }))
	gauge("berth_master_agents_active", "Agents not lost.", locked(func() int {
		n := 0
		for _, a := range m.agents {
			if !a.lost {
				n++
			}
		}
		return n
	}))
	gauge("berth_master_queue_instances", "Instances waiting to be placed.", locked(func() int {
		n := 0
		for _, as := range m.apps {
			n += as.queue.count
		}
		return n
	}))
	return mx
}

func (mx *metrics) handler() http.Handler {
	return promhttp.HandlerFor(mx.reg, promhttp.HandlerOpts{})
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (mx *metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		mx.requests.WithLabelValues(r.Method, strconv.Itoa(rec.code)).Inc()
	})
}
