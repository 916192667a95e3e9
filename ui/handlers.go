package ui

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/berth-platform/berth/internal/apiclient"
)

func (u *UI) appsPage(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), u.api(r)
	// appNoRaw decodes an app without keeping its raw JSON (apiclient.App's
	// own decoder scans each app twice to keep it; the list needs none).
	type appNoRaw apiclient.App
	var apps struct {
		Apps []appNoRaw `json:"apps"`
	}
	if err := a.get(ctx, "/v2/apps", &apps); err != nil {
		u.fail(w, r, err)
		return
	}
	var queue struct {
		Queue []apiclient.QueueEntry `json:"queue"`
	}
	if err := a.get(ctx, "/v2/queue", &queue); err != nil {
		u.fail(w, r, err)
		return
	}
	list := make([]apiclient.App, len(apps.Apps))
	for i := range apps.Apps {
		list[i] = apiclient.App(apps.Apps[i])
	}
	q := r.URL.Query()
	p := AppsView(list, queue.Queue, q.Get("q"), q.Get("label"))
	u.render(w, r, http.StatusOK, "apps", &p)
}

// groupsPage is the apps as a tree; with GET /v2/groups (when the
// master serves it) the groups add their dependencies and empty groups.
func (u *UI) groupsPage(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), u.api(r)
	var apps struct {
		Apps []apiclient.App `json:"apps"`
	}
	var queue struct {
		Queue []apiclient.QueueEntry `json:"queue"`
	}
	for _, c := range []struct {
		path string
		out  any
	}{{"/v2/apps", &apps}, {"/v2/queue", &queue}} {
		if err := a.get(ctx, c.path, c.out); err != nil {
			u.fail(w, r, err)
			return
		}
	}
	var groups *groupJSON
	var g groupJSON
	if err := a.get(ctx, "/v2/groups", &g); err == nil {
		groups = &g
	}
	p := GroupsView(apps.Apps, queue.Queue, groups)
	u.render(w, r, http.StatusOK, "groups", &p)
}

// getApp reads one app (with its tasks).
func getApp(ctx context.Context, a *api, id string) (*apiclient.App, error) {
	var out struct {
		App *apiclient.App `json:"app"`
	}
	if err := a.get(ctx, appPath(id)+"?embed=app.tasks&embed=app.deployments&embed=app.lastTaskFailure", &out); err != nil {
		return nil, err
	}
	if out.App == nil {
		return nil, fmt.Errorf("GET %s: answer has no app", appPath(id))
	}
	return out.App, nil
}

func (u *UI) appPage(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), u.api(r)
	id := normalizeID(r.PathValue("id"))
	app, err := getApp(ctx, a, id)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	in := AppInputs{App: app}
	var versions struct {
		Versions []string `json:"versions"`
	}
	var queue struct {
		Queue []apiclient.QueueEntry `json:"queue"`
	}
	for _, c := range []struct {
		path string
		out  any
	}{{appPath(id) + "/versions", &versions}, {"/v2/deployments", &in.Deployments}, {"/v2/queue", &queue}} {
		if err := a.get(ctx, c.path, c.out); err != nil {
			u.fail(w, r, err)
			return
		}
	}
	in.Versions, in.Queue = versions.Versions, queue.Queue
	in.DiffAVer, in.DiffBVer = diffPair(r.URL.Query(), app.Version, in.Versions)
	if in.DiffAVer != "" && in.DiffBVer != "" && in.DiffAVer != in.DiffBVer {
		in.DiffA, err = getVersion(ctx, a, id, in.DiffAVer)
		if err == nil {
			in.DiffB, err = getVersion(ctx, a, id, in.DiffBVer)
		}
		if err != nil {
			u.fail(w, r, err)
			return
		}
	}
	in.Routes, _ = u.fetchRoutes(ctx)
	in.Retry = retryForm(r.URL.Query())
	p := AppView(in, u.now())
	u.render(w, r, http.StatusOK, "app", &p)
}

// diffPair is the two versions to compare: ?a= and ?b=, or the previous
// and the current version.
func diffPair(q url.Values, current string, versions []string) (string, string) {
	a, b := q.Get("a"), q.Get("b")
	if a != "" || b != "" {
		return a, b
	}
	// versions are newest first, as Marathon lists them.
	if len(versions) >= 2 {
		return versions[1], versions[0]
	}
	return "", current
}

func getVersion(ctx context.Context, a *api, id, version string) (json.RawMessage, error) {
	b, _, err := a.call(ctx, http.MethodGet, appPath(id)+"/versions/"+url.PathEscape(version), nil)
	return b, err
}

func (u *UI) deploymentsPage(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), u.api(r)
	var deps []apiclient.Deployment
	var queue struct {
		Queue []apiclient.QueueEntry `json:"queue"`
	}
	if err := a.get(ctx, "/v2/deployments", &deps); err != nil {
		u.fail(w, r, err)
		return
	}
	if err := a.get(ctx, "/v2/queue", &queue); err != nil {
		u.fail(w, r, err)
		return
	}
	p := DeploymentsView(deps, queue.Queue, u.now())
	u.render(w, r, http.StatusOK, "deployments", &p)
}

func (u *UI) tasksPage(w http.ResponseWriter, r *http.Request) {
	var out struct {
		Tasks []apiclient.Task `json:"tasks"`
	}
	if err := u.api(r).get(r.Context(), "/v2/tasks", &out); err != nil {
		u.fail(w, r, err)
		return
	}
	// Job runs' tasks are not in Marathon's /v2/tasks.
	var runs struct {
		Tasks []apiclient.Task `json:"tasks"`
	}
	if err := u.api(r).get(r.Context(), "/scheduler/tasks", &runs); err == nil {
		out.Tasks = append(out.Tasks, runs.Tasks...)
	}
	ended, err := u.endedTasks(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	p := TasksView(out.Tasks, u.now())
	p.Ended = ended
	u.render(w, r, http.StatusOK, "tasks", &p)
}

func streamParam(r *http.Request) string {
	if r.URL.Query().Get("stream") == "stderr" {
		return "stderr"
	}
	return "stdout"
}

func (u *UI) sandboxPage(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), u.api(r)
	id := r.PathValue("id")
	var out struct {
		Tasks []apiclient.Task `json:"tasks"`
	}
	if err := a.get(ctx, "/v2/tasks", &out); err != nil {
		u.fail(w, r, err)
		return
	}
	var task *apiclient.Task
	for i := range out.Tasks {
		if out.Tasks[i].ID == id {
			task = &out.Tasks[i]
		}
	}
	stream := streamParam(r)
	var logErr string
	var next int64
	text, hdr, err := a.call(ctx, http.MethodGet, "/v2/tasks/"+url.PathEscape(id)+"/logs?stream="+stream+"&offset=0", nil)
	switch {
	case err != nil && statusOf(err) == http.StatusUnauthorized:
		u.fail(w, r, err)
		return
	case err != nil && task == nil:
		u.fail(w, r, err)
		return
	case err != nil:
		logErr, text = "Output unavailable: "+errMessage(err), nil
	default:
		next, _ = strconv.ParseInt(hdr.Get("X-Berth-Offset"), 10, 64)
	}
	p := SandboxView(id, task, stream, text, next, logErr, u.now())
	u.render(w, r, http.StatusOK, "sandbox", &p)
}

func errMessage(err error) string {
	if ae, ok := err.(*apiError); ok {
		return ae.Message
	}
	return err.Error()
}

// taskLogs streams a task's output as text: ?stream=, ?offset=,
// ?follow=1 (keep streaming), ?download=1 (as an attachment).
func (u *UI) taskLogs(w http.ResponseWriter, r *http.Request) {
	id, q := r.PathValue("id"), r.URL.Query()
	stream := streamParam(r)
	offset, _ := strconv.ParseInt(q.Get("offset"), 10, 64)
	follow := q.Get("follow") == "1" || q.Get("follow") == "true"
	path := fmt.Sprintf("/v2/tasks/%s/logs?stream=%s&offset=%d&follow=%t", url.PathEscape(id), stream, max(0, offset), follow)
	resp, err := u.api(r).stream(r.Context(), path, "application/octet-stream, application/json")
	if err != nil {
		streamFail(w, err)
		return
	}
	defer resp.Body.Close()
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if v := resp.Header.Get("X-Berth-Offset"); v != "" {
		h.Set("X-Berth-Offset", v)
	}
	if q.Get("download") == "1" {
		h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", id+"."+stream+".log"))
	}
	copyFlushing(w, resp.Body)
}

// streamFail answers a stream (logs, events) whose API call failed, as
// text: a 401 asks for credentials.
func streamFail(w http.ResponseWriter, err error) {
	status := statusOf(err)
	switch status {
	case 0:
		status = http.StatusBadGateway
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Basic realm="Berth"`)
	}
	http.Error(w, errMessage(err), status)
}

// copyFlushing copies src to w, flushing each chunk.
func copyFlushing(w http.ResponseWriter, src io.Reader) {
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			_ = rc.Flush()
		}
		if err != nil {
			return
		}
	}
}

func (u *UI) agentsPage(w http.ResponseWriter, r *http.Request) {
	var out struct {
		Slaves []agentJSON `json:"slaves"`
	}
	if err := u.api(r).get(r.Context(), "/master/slaves", &out); err != nil {
		u.fail(w, r, err)
		return
	}
	p := AgentsView(out.Slaves, u.now())
	u.render(w, r, http.StatusOK, "agents", &p)
}

// fetchRoutes reads lbsync's status (nil, "" when not configured).
func (u *UI) fetchRoutes(ctx context.Context) (*routesJSON, string) {
	if u.cfg.RoutesURL == "" {
		return nil, ""
	}
	base := u.cfg.RoutesURL
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/routes", nil)
	if err != nil {
		return nil, "lbsync status: " + err.Error()
	}
	resp, err := u.cfg.RoutesClient.Do(req)
	if err != nil {
		return nil, "lbsync status unreachable: " + err.Error()
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "lbsync status " + req.URL.String() + ": " + resp.Status
	}
	var st routesJSON
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&st); err != nil {
		return nil, "lbsync status: decode: " + err.Error()
	}
	return &st, ""
}

func (u *UI) routesPage(w http.ResponseWriter, r *http.Request) {
	// The API's auth guards the routes too: they name every backend.
	var info infoJSON
	if err := u.api(r).get(r.Context(), "/v2/info", &info); err != nil {
		u.fail(w, r, err)
		return
	}
	st, errText := u.fetchRoutes(r.Context())
	p := RoutesView(st, u.cfg.RoutesURL != "", errText, u.now())
	u.render(w, r, http.StatusOK, "routes", &p)
}

func (u *UI) clusterPage(w http.ResponseWriter, r *http.Request) {
	ctx, a := r.Context(), u.api(r)
	var info infoJSON
	if err := a.get(ctx, "/v2/info", &info); err != nil {
		u.fail(w, r, err)
		return
	}
	started := processStart(ctx, a)
	st, errText := u.fetchRoutes(ctx)
	p := ClusterView(info, started, st, errText, u.now())
	u.render(w, r, http.StatusOK, "cluster", &p)
}

// processStart reads process_start_time_seconds from the master's
// /metrics (zero when absent).
func processStart(ctx context.Context, a *api) time.Time {
	b, _, err := a.call(ctx, http.MethodGet, "/metrics", nil)
	if err != nil {
		return time.Time{}
	}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "process_start_time_seconds "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return time.Unix(int64(f), 0)
			}
		}
	}
	return time.Time{}
}

// events relays the master's event stream (GET /v2/events) with the
// caller's credentials; the page script re-renders on what it hears.
func (u *UI) events(w http.ResponseWriter, r *http.Request) {
	resp, err := u.api(r).stream(r.Context(), "/v2/events", "text/event-stream")
	if err != nil {
		streamFail(w, err)
		return
	}
	defer resp.Body.Close()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	copyFlushing(w, resp.Body)
}
