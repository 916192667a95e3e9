package apiclient

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

// Job is a Chronos job as GET /scheduler/jobs returns it (the fields the
// CLI shows; Raw keeps the whole object for --json).
type Job struct {
	Name                   string   `json:"name"`
	Command                string   `json:"command"`
	Schedule               string   `json:"schedule"`
	Parents                []string `json:"parents"`
	Disabled               bool     `json:"disabled"`
	Queue                  string   `json:"queue"`
	SuccessCount           int      `json:"successCount"`
	ErrorCount             int      `json:"errorCount"`
	LastSuccess            string   `json:"lastSuccess"`
	LastError              string   `json:"lastError"`
	ErrorsSinceLastSuccess int      `json:"errorsSinceLastSuccess"`
	State                  string   `json:"state"`
	NextDue                string   `json:"nextDue"`

	Raw json.RawMessage `json:"-"`
}

// JobRun is one entry of a job's history.
type JobRun struct {
	Due      string  `json:"due"`
	Started  string  `json:"started"`
	Ended    string  `json:"ended"`
	Status   string  `json:"status"`
	Exit     *int    `json:"exitStatus"`
	Agent    string  `json:"agent"`
	TaskID   string  `json:"taskId"`
	Attempt  int     `json:"attempt"`
	Manual   bool    `json:"manual"`
	Cause    string  `json:"cause"`
	Skipped  int     `json:"skipped"`
	Message  string  `json:"message"`
	Duration float64 `json:"durationSeconds"`
}

// JobInflight is a run claimed and not finished.
type JobInflight struct {
	TaskID   string `json:"taskId"`
	Due      string `json:"due"`
	Attempt  int    `json:"attempt"`
	Manual   bool   `json:"manual"`
	Cause    string `json:"cause"`
	State    string `json:"state"`
	Queued   string `json:"queued"`
	Launched string `json:"launched"`
	Started  string `json:"started"`
	Host     string `json:"host"`
	Message  string `json:"message"`
}

// JobStat is GET /scheduler/job/stat/{name}.
type JobStat struct {
	Histogram map[string]float64 `json:"histogram"`
	History   []JobRun           `json:"taskStatHistory"`
	Inflight  []JobInflight      `json:"inflight"`
}

// JobQueue is one queue of GET /scheduler/queues.
type JobQueue struct {
	Name        string  `json:"name"`
	Parent      string  `json:"parent"`
	Capacity    float64 `json:"capacity"`
	MaxCapacity float64 `json:"maxCapacity"`
	Guaranteed  float64 `json:"guaranteedShare"`
	Used        float64 `json:"usedShare"`
	Pending     int     `json:"pendingRuns"`
	Policy      string  `json:"policy"`
	Preemption  bool    `json:"preemption"`
	Jobs        int     `json:"jobs"`
}

// Jobs lists every job (GET /scheduler/jobs).
func (c *Client) Jobs(ctx context.Context) ([]Job, error) {
	var raw []json.RawMessage
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/scheduler/jobs"}, &raw); err != nil {
		return nil, err
	}
	out := make([]Job, 0, len(raw))
	for _, r := range raw {
		var j Job
		if err := json.Unmarshal(r, &j); err != nil {
			return nil, err
		}
		j.Raw = r
		out = append(out, j)
	}
	return out, nil
}

// PutJob creates or replaces a job from its Chronos JSON (POST
// /scheduler/dependency when dependent, else /scheduler/iso8601).
func (c *Client) PutJob(ctx context.Context, def []byte, dependent bool) error {
	path := "/scheduler/iso8601"
	if dependent {
		path = "/scheduler/dependency"
	}
	_, err := c.do(ctx, request{method: http.MethodPost, path: path, body: def}, nil)
	return err
}

// RunJob starts a manual run (PUT /scheduler/job/{name}[?arguments=]).
func (c *Client) RunJob(ctx context.Context, name, arguments string) error {
	var q url.Values
	if arguments != "" {
		q = url.Values{"arguments": {arguments}}
	}
	_, err := c.do(ctx, request{method: http.MethodPut, path: "/scheduler/job/" + url.PathEscape(name), query: q}, nil)
	return err
}

// DeleteJob removes a job (DELETE /scheduler/job/{name}).
func (c *Client) DeleteJob(ctx context.Context, name string) error {
	_, err := c.do(ctx, request{method: http.MethodDelete, path: "/scheduler/job/" + url.PathEscape(name)}, nil)
	return err
}

// JobStat reads a job's history and duration histogram.
func (c *Client) JobStat(ctx context.Context, name string) (*JobStat, error) {
	var st JobStat
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/scheduler/job/stat/" + url.PathEscape(name)}, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// JobQueues reads the capacity queues (GET /scheduler/queues).
func (c *Client) JobQueues(ctx context.Context) ([]JobQueue, error) {
	var qs []JobQueue
	_, err := c.do(ctx, request{method: http.MethodGet, path: "/scheduler/queues"}, &qs)
	return qs, err
}

// JobTasks lists the tasks of the job runs in flight (Berth's GET
// /scheduler/tasks, Marathon's task shape).
func (c *Client) JobTasks(ctx context.Context) ([]Task, error) {
	var out struct {
		Tasks []Task `json:"tasks"`
	}
	_, err := c.do(ctx, request{method: http.MethodGet, path: "/scheduler/tasks"}, &out)
	return out.Tasks, err
}
