package apiclient

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// Apps lists every app with its counts and deployments (GET /v2/apps).
func (c *Client) Apps(ctx context.Context) ([]App, error) {
	var out struct {
		Apps []App `json:"apps"`
	}
	_, err := c.do(ctx, request{method: http.MethodGet, path: "/v2/apps"}, &out)
	return out.Apps, err
}

// App reads one app with its tasks and last task failure
// (GET /v2/apps/{id}).
func (c *Client) App(ctx context.Context, id string) (*App, error) {
	var out struct {
		App *App `json:"app"`
	}
	path := appPath(id)
	if _, err := c.do(ctx, request{method: http.MethodGet, path: path}, &out); err != nil {
		return nil, err
	}
	if out.App == nil {
		return nil, fmt.Errorf("GET %s: answer has no app", path)
	}
	return out.App, nil
}

// CreateApp creates an app from its JSON definition (POST /v2/apps). The
// result's deployment id comes from the Marathon-Deployment-Id header.
func (c *Client) CreateApp(ctx context.Context, def []byte) (DeploymentResult, error) {
	var out App
	hdr, err := c.do(ctx, request{method: http.MethodPost, path: "/v2/apps", body: def}, &out)
	if err != nil {
		return DeploymentResult{}, err
	}
	res := DeploymentResult{DeploymentID: hdr.Get("Marathon-Deployment-Id"), Version: out.Version}
	if res.DeploymentID == "" && len(out.Deployments) > 0 {
		res.DeploymentID = out.Deployments[0].ID
	}
	return res, nil
}

// UpdateOptions are the query parameters of an update.
type UpdateOptions struct {
	// Partial keeps fields absent from the body (Marathon's default);
	// false replaces the whole definition.
	Partial bool
	// Force overrides a deployment locking the app.
	Force bool
}

// UpdateApp creates or updates app id from a JSON definition
// (PUT /v2/apps/{id}).
func (c *Client) UpdateApp(ctx context.Context, id string, def []byte, opts UpdateOptions) (DeploymentResult, error) {
	q := url.Values{"partialUpdate": {strconv.FormatBool(opts.Partial)}}
	if opts.Force {
		q.Set("force", "true")
	}
	var res DeploymentResult
	_, err := c.do(ctx, request{method: http.MethodPut, path: appPath(id), query: q, body: def}, &res)
	return res, err
}

// Scale sets app id's instance count with a partial update that never
// creates the app (PATCH /v2/apps/{id} {"instances": n}): an unknown id
// is a 404.
func (c *Client) Scale(ctx context.Context, id string, n int, force bool) (DeploymentResult, error) {
	var q url.Values
	if force {
		q = url.Values{"force": {"true"}}
	}
	var res DeploymentResult
	_, err := c.do(ctx, request{method: http.MethodPatch, path: appPath(id), query: q,
		body: map[string]int{"instances": n}}, &res)
	return res, err
}

// Restart replaces every task of app id (POST /v2/apps/{id}/restart).
func (c *Client) Restart(ctx context.Context, id string, force bool) (DeploymentResult, error) {
	var q url.Values
	if force {
		q = url.Values{"force": {"true"}}
	}
	var res DeploymentResult
	_, err := c.do(ctx, request{method: http.MethodPost, path: appPath(id) + "/restart", query: q}, &res)
	return res, err
}

// Destroy stops and removes app id (DELETE /v2/apps/{id}).
func (c *Client) Destroy(ctx context.Context, id string) (DeploymentResult, error) {
	var res DeploymentResult
	_, err := c.do(ctx, request{method: http.MethodDelete, path: appPath(id)}, &res)
	return res, err
}

// Tasks lists every task (GET /v2/tasks).
func (c *Client) Tasks(ctx context.Context) ([]Task, error) {
	return c.tasks(ctx, "/v2/tasks")
}

// AppTasks lists app id's tasks (GET /v2/apps/{id}/tasks).
func (c *Client) AppTasks(ctx context.Context, id string) ([]Task, error) {
	return c.tasks(ctx, appPath(id)+"/tasks")
}

func (c *Client) tasks(ctx context.Context, path string) ([]Task, error) {
	var out struct {
		Tasks []Task `json:"tasks"`
	}
	_, err := c.do(ctx, request{method: http.MethodGet, path: path}, &out)
	return out.Tasks, err
}

// Deployments lists the running deployments (GET /v2/deployments).
func (c *Client) Deployments(ctx context.Context) ([]Deployment, error) {
	var out []Deployment
	_, err := c.do(ctx, request{method: http.MethodGet, path: "/v2/deployments"}, &out)
	return out, err
}

// Queue lists the apps with instances still to place (GET /v2/queue).
func (c *Client) Queue(ctx context.Context) ([]QueueEntry, error) {
	var out struct {
		Queue []QueueEntry `json:"queue"`
	}
	_, err := c.do(ctx, request{method: http.MethodGet, path: "/v2/queue"}, &out)
	return out.Queue, err
}

// Leader is the leading master's host:port (GET /v2/leader).
func (c *Client) Leader(ctx context.Context) (string, error) {
	var out struct {
		Leader string `json:"leader"`
	}
	_, err := c.do(ctx, request{method: http.MethodGet, path: "/v2/leader"}, &out)
	return out.Leader, err
}

// LogOptions select a task's log stream.
type LogOptions struct {
	// Stream is "stdout" (default) or "stderr".
	Stream string
	// Offset is the byte offset to start from.
	Offset int64
	// Follow keeps the answer open, streaming new output until the task
	// ends or ctx is cancelled.
	Follow bool
}

// Logs is one answer of a task's logs: Body streams the bytes (the caller
// closes it); Next is the offset after them as the master reported it
// (X-Berth-Offset; without follow, the offset to continue from).
type Logs struct {
	Body io.ReadCloser
	Next int64
}

// TaskLogs reads a task's output through the master, which proxies to the
// task's agent (GET /v2/tasks/{taskId}/logs). Without Follow the answer
// is one chunk; call again from Next until a chunk is empty.
func (c *Client) TaskLogs(ctx context.Context, taskID string, opts LogOptions) (*Logs, error) {
	stream := opts.Stream
	if stream == "" {
		stream = "stdout"
	}
	q := url.Values{"stream": {stream}, "offset": {strconv.FormatInt(opts.Offset, 10)},
		"follow": {strconv.FormatBool(opts.Follow)}}
	r := request{method: http.MethodGet, path: "/v2/tasks/" + url.PathEscape(taskID) + "/logs", query: q}
	req, err := c.newRequest(ctx, r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/octet-stream, application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: cannot reach the master at %s: %w", r.method, r.path, c.base, unwrapURLError(err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return nil, decodeError(r.method, r.path, resp.StatusCode, body)
	}
	next := opts.Offset
	if s := resp.Header.Get("X-Berth-Offset"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			next = n
		}
	}
	return &Logs{Body: resp.Body, Next: next}, nil
}
