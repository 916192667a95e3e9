package service

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"sort"
	"strings"

	"github.com/berth-platform/berth/placement/chronos"
)

// Histogram is the duration statistics of a job's successful runs
// (seconds), in Chronos' job/stat shape.
type Histogram struct {
	P75    float64 `json:"75thPercentile"`
	P95    float64 `json:"95thPercentile"`
	P98    float64 `json:"98thPercentile"`
	P99    float64 `json:"99thPercentile"`
	Median float64 `json:"median"`
	Mean   float64 `json:"mean"`
	Count  int     `json:"count"`
}

// Durations computes the histogram of the runs' durations (successful
// runs only). It is pure.
func Durations(runs []Run) Histogram {
	var d []float64
	for _, r := range runs {
		if r.Status == "success" {
			d = append(d, r.Duration)
		}
	}
	h := Histogram{Count: len(d)}
	if len(d) == 0 {
		return h
	}
	sort.Float64s(d)
	sum := 0.0
	for _, x := range d {
		sum += x
	}
	h.Mean = sum / float64(len(d))
	h.Median, h.P75, h.P95, h.P98, h.P99 = pct(d, 50), pct(d, 75), pct(d, 95), pct(d, 98), pct(d, 99)
	return h
}

// pct is the nearest-rank percentile of sorted values.
func pct(sorted []float64, p float64) float64 {
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// Stat is GET job/stat/{name}: the histogram, the run history (newest
// first, as Chronos' taskStatHistory) and the runs in flight.
type Stat struct {
	Histogram Histogram  `json:"histogram"`
	History   []Run      `json:"taskStatHistory"`
	Inflight  []Inflight `json:"inflight"`
}

func (s *Service) handleStat(w http.ResponseWriter, r *http.Request) {
	hist, in, ok := s.History(r.PathValue("name"))
	if !ok {
		writeErr(w, errUnknown(r.PathValue("name")))
		return
	}
	st := Stat{Histogram: Durations(hist), History: make([]Run, 0, len(hist)), Inflight: in}
	for i := len(hist) - 1; i >= 0; i-- {
		st.History = append(st.History, hist[i])
	}
	if st.Inflight == nil {
		st.Inflight = []Inflight{}
	}
	writeJSON(w, 200, st)
}

// handleStats serves stats/{pct}: every job's duration at a percentile,
// slowest first.
func (s *Service) handleStats(w http.ResponseWriter, r *http.Request) {
	pick := map[string]func(Histogram) float64{
		"99thpercentile": func(h Histogram) float64 { return h.P99 },
		"98thpercentile": func(h Histogram) float64 { return h.P98 },
		"95thpercentile": func(h Histogram) float64 { return h.P95 },
		"75thpercentile": func(h Histogram) float64 { return h.P75 },
		"median":         func(h Histogram) float64 { return h.Median },
		"mean":           func(h Histogram) float64 { return h.Mean },
	}[strings.ToLower(r.PathValue("pct"))]
	if pick == nil {
		writeErr(w, &chronos.Error{Field: "percentile", Message: r.PathValue("pct") +
			" is not one of 99thPercentile, 98thPercentile, 95thPercentile, 75thPercentile, median, mean"})
		return
	}
	type entry struct {
		Name string  `json:"jobNameLabel"`
		Time float64 `json:"time"`
	}
	s.mu.Lock()
	out := make([]entry, 0, len(s.jobs))
	for n, rec := range s.jobs {
		if h := Durations(rec.History); h.Count > 0 {
			out = append(out, entry{n, pick(h)})
		}
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Time != out[j].Time {
			return out[i].Time > out[j].Time
		}
		return out[i].Name < out[j].Name
	})
	writeJSON(w, 200, out)
}

func (s *Service) handleRunNow(w http.ResponseWriter, r *http.Request) {
	var args []string
	if a := r.URL.Query().Get("arguments"); a != "" {
		args = strings.Fields(a)
	}
	if err := s.RunNow(r.Context(), r.PathValue("name"), args); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) handleKill(w http.ResponseWriter, r *http.Request) {
	if err := s.KillRuns(r.Context(), r.PathValue("name")); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// TaskView is a job run's task in Marathon's task shape (Berth's GET
// …/scheduler/tasks, which `berth ps` lists beside the apps' tasks).
type TaskView struct {
	ID           string  `json:"id"`
	AppID        string  `json:"appId"`
	Host         string  `json:"host"`
	SlaveID      string  `json:"slaveId"`
	Ports        []int   `json:"ports"`
	ServicePorts []int   `json:"servicePorts"`
	StagedAt     string  `json:"stagedAt"`
	StartedAt    *string `json:"startedAt"`
	Version      string  `json:"version"`
	State        string  `json:"state"`
}

func (s *Service) handleTasks(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	out := []TaskView{}
	for id, name := range s.runs {
		in := s.inflight(name, id)
		if in == nil || in.State == runQueued {
			continue
		}
		v := TaskView{ID: id, AppID: AppIDPrefix + name, Host: in.Host, SlaveID: in.Agent, Ports: []int{},
			ServicePorts: []int{}, StagedAt: in.Queued, Version: in.Due, State: "TASK_STAGING"}
		if in.State == runRunning {
			started := in.Started
			v.State, v.StartedAt = "TASK_RUNNING", &started
		}
		out = append(out, v)
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	writeJSON(w, 200, map[string]any{"tasks": out})
}

func (s *Service) handleMarkSuccess(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := s.MarkSuccess(r.Context(), name); err != nil {
		writeErr(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, "marked job "+name+" as successful: true")
}

// handleComplete serves PUT task/{taskId} {"statusCode":N}, the
// completion callback of an async job (Chronos 2.x).
func (s *Service) handleComplete(w http.ResponseWriter, r *http.Request) {
	var body struct {
		StatusCode *chronos.Int `json:"statusCode"`
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err == nil {
		err = json.Unmarshal(b, &body)
	}
	if err != nil || body.StatusCode == nil {
		writeErr(w, &chronos.Error{Field: "statusCode", Message: "want {\"statusCode\": 0} (0 is success)"})
		return
	}
	if err := s.Complete(r.Context(), r.PathValue("taskId"), int(*body.StatusCode)); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
