package service

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/berth-platform/berth/jobs"
	"github.com/berth-platform/berth/placement/chronos"
)

// maxBody is the largest job body accepted.
const maxBody = 1 << 20

// Handler serves the Chronos API under /scheduler/ (2.x) and
// /v1/scheduler/ (3.x), plus Berth's /scheduler/queues.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, p := range []string{"/scheduler", "/v1/scheduler"} {
		mux.HandleFunc("GET "+p+"/jobs", s.handleList)
		mux.HandleFunc("GET "+p+"/jobs/summary", s.handleSummary)
		mux.HandleFunc("GET "+p+"/jobs/search", s.handleSearch)
		mux.HandleFunc("DELETE "+p+"/jobs", s.handleDeleteAll)
		mux.HandleFunc("GET "+p+"/job/{name}", s.handleGet)
		mux.HandleFunc("DELETE "+p+"/job/{name}", s.handleDelete)
		mux.HandleFunc("POST "+p+"/iso8601", s.handlePut(false))
		mux.HandleFunc("PUT "+p+"/iso8601", s.handlePut(false))
		mux.HandleFunc("POST "+p+"/dependency", s.handlePut(true))
		mux.HandleFunc("PUT "+p+"/dependency", s.handlePut(true))
		mux.HandleFunc("GET "+p+"/graph/dot", s.handleDot)
		mux.HandleFunc("GET "+p+"/graph/csv", s.handleCSV)
		mux.HandleFunc("GET "+p+"/queues", s.handleQueues)
		mux.HandleFunc("GET "+p+"/leader", s.handleLeader)
		mux.HandleFunc("PUT "+p+"/job/{name}", s.handleRunNow)
		mux.HandleFunc("DELETE "+p+"/task/kill/{name}", s.handleKill)
		mux.HandleFunc("GET "+p+"/job/stat/{name}", s.handleStat)
		mux.HandleFunc("GET "+p+"/stats/{pct}", s.handleStats)
		mux.HandleFunc("GET "+p+"/tasks", s.handleTasks)
		mux.HandleFunc("PUT "+p+"/job/success/{name}", s.handleMarkSuccess)
		mux.HandleFunc("PUT "+p+"/task/{taskId}", s.handleComplete)
	}
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"status":"Internal Server Error","message":"encoding failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeErr(w http.ResponseWriter, err error) {
	var ce *chronos.Error
	if errors.As(err, &ce) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(ce.Body())
		return
	}
	writeJSON(w, http.StatusInternalServerError, map[string]string{"status": "Internal Server Error", "message": err.Error()})
}

// JobView is a job as the API returns it: the Chronos fields plus its
// state (idle, queued, running) and next due time.
type JobView struct {
	chronos.Job
	State   string `json:"state"`
	NextDue string `json:"nextDue,omitempty"`
}

// Jobs returns every job, sorted by name.
func (s *Service) Jobs() []JobView {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]JobView, 0, len(s.jobs))
	for _, r := range s.jobs {
		out = append(out, s.view(r))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (s *Service) view(r *record) JobView {
	v := JobView{Job: r.Job, State: jobState(r)}
	if due, ok := s.tl.Due(r.Job.Name); ok {
		v.NextDue = jobs.FormatTime(due)
	}
	return v
}

func (s *Service) handleList(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, s.Jobs()) }

func (s *Service) handleGet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	rec, ok := s.jobs[r.PathValue("name")]
	var j JobView
	if ok {
		j = s.view(rec)
	}
	s.mu.Unlock()
	if !ok {
		writeErr(w, errUnknown(r.PathValue("name")))
		return
	}
	writeJSON(w, 200, j)
}

type summary struct {
	Name     string   `json:"name"`
	Status   string   `json:"status"`
	State    string   `json:"state"`
	Schedule string   `json:"schedule"`
	Parents  []string `json:"parents"`
	Disabled bool     `json:"disabled"`
	Queue    string   `json:"queue"`
}

func status(j chronos.Job) string {
	switch {
	case j.LastSuccess == "" && j.LastError == "":
		return "fresh"
	case j.LastError > j.LastSuccess:
		return "failure"
	}
	return "success"
}

func (s *Service) handleSummary(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	out := make([]summary, 0, len(s.jobs))
	for _, r := range s.jobs {
		p := r.Job.Parents
		if p == nil {
			p = []string{}
		}
		out = append(out, summary{r.Job.Name, status(r.Job), jobState(r), r.Job.Schedule, p, r.Job.Disabled, r.Job.Queue})
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	writeJSON(w, 200, map[string]any{"jobs": out})
}

// handleSearch: case-insensitive substring match on name, command or
// either (any), with limit (default 10) and offset.
func (s *Service) handleSearch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name, cmd, anyS := strings.ToLower(q.Get("name")), strings.ToLower(q.Get("command")), strings.ToLower(q.Get("any"))
	limit, offset := 10, 0
	for _, p := range []struct {
		key string
		dst *int
	}{{"limit", &limit}, {"offset", &offset}} {
		if v := q.Get(p.key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				writeErr(w, &chronos.Error{Field: p.key, Message: fmt.Sprintf("%q is not a whole number ≥ 0", v)})
				return
			}
			*p.dst = n
		}
	}
	var out []JobView
	for _, j := range s.Jobs() {
		ln, lc := strings.ToLower(j.Name), strings.ToLower(j.Command)
		if (name == "" || strings.Contains(ln, name)) && (cmd == "" || strings.Contains(lc, cmd)) &&
			(anyS == "" || strings.Contains(ln, anyS) || strings.Contains(lc, anyS)) {
			out = append(out, j)
		}
	}
	if offset > len(out) {
		offset = len(out)
	}
	out = out[offset:]
	if len(out) > limit {
		out = out[:limit]
	}
	if out == nil {
		out = []JobView{}
	}
	writeJSON(w, 200, out)
}

func (s *Service) handlePut(dependent bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			writeErr(w, &chronos.Error{Message: "reading body: " + err.Error()})
			return
		}
		if err := s.Put(r.Context(), body, dependent); err != nil {
			writeErr(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Service) handleDelete(w http.ResponseWriter, r *http.Request) {
	if err := s.Delete(r.Context(), r.PathValue("name")); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) handleDeleteAll(w http.ResponseWriter, r *http.Request) {
	if err := s.DeleteAll(r.Context()); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) handleDot(w http.ResponseWriter, _ *http.Request) {
	var b strings.Builder
	b.WriteString("digraph G {\n")
	for _, j := range s.Jobs() {
		fmt.Fprintf(&b, "  %q;\n", j.Name)
		for _, p := range j.Parents {
			fmt.Fprintf(&b, "  %q -> %q;\n", p, j.Name)
		}
	}
	b.WriteString("}\n")
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, b.String())
}

// handleCSV: node,<name>,<lastState>,<currentState> and link,<parent>,<child>.
func (s *Service) handleCSV(w http.ResponseWriter, _ *http.Request) {
	var b strings.Builder
	s.mu.Lock()
	names := make([]string, 0, len(s.jobs))
	for n := range s.jobs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		r := s.jobs[n]
		fmt.Fprintf(&b, "node,%s,%s,%s\n", n, status(r.Job), jobState(r))
	}
	for _, n := range names {
		for _, p := range s.jobs[n].Job.Parents {
			fmt.Fprintf(&b, "link,%s,%s\n", p, n)
		}
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, b.String())
}

// QueueView is one queue of GET /scheduler/queues.
type QueueView struct {
	Name        string  `json:"name"`
	Parent      string  `json:"parent,omitempty"`
	Capacity    float64 `json:"capacity"`
	MaxCapacity float64 `json:"maxCapacity"`
	Guaranteed  float64 `json:"guaranteedShare"`
	Used        float64 `json:"usedShare"`
	Pending     int     `json:"pendingRuns"`
	Policy      string  `json:"policy"`
	Preemption  bool    `json:"preemption"`
	Jobs        int     `json:"jobs"`
}

func (s *Service) handleQueues(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	count, pending := map[string]int{}, map[string]int{}
	for _, r := range s.jobs {
		for q := s.cfg.Queues.Leaves[r.Job.Queue]; q != nil; q = q.Parent {
			count[q.Name]++
			for _, in := range r.Inflight {
				if in.State == runQueued {
					pending[q.Name]++
				}
			}
		}
	}
	used := s.used
	s.mu.Unlock()
	var out []QueueView
	for _, q := range s.cfg.Queues.Queues() {
		v := QueueView{Name: q.Name, Capacity: q.Capacity, MaxCapacity: q.MaxShare, Guaranteed: q.Guarantee * 100,
			Policy: q.Policy, Preemption: q.Preemption, Jobs: count[q.Name], Pending: pending[q.Name], Used: used[q.Name] * 100}
		if q.Parent != nil {
			v.Parent = q.Parent.Name
		} else {
			v.Capacity, v.MaxCapacity = 100, 100
		}
		out = append(out, v)
	}
	writeJSON(w, 200, out)
}

func (s *Service) handleLeader(w http.ResponseWriter, _ *http.Request) {
	l := ""
	if s.cfg.Leader != nil {
		l = s.cfg.Leader()
	}
	writeJSON(w, 200, map[string]string{"leader": l})
}
