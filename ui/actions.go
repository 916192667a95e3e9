package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// redirect answers a form POST: 303 to back with a notice or an alert.
func redirect(w http.ResponseWriter, r *http.Request, back, msg string, err error) {
	q := url.Values{}
	if err != nil {
		q.Set("err", errMessage(err)+detailsText(err))
	} else if msg != "" {
		q.Set("msg", msg)
	}
	if len(q) > 0 {
		back += "?" + q.Encode()
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

func detailsText(err error) string {
	var ae *apiError
	if !errors.As(err, &ae) {
		return ""
	}
	var b strings.Builder
	for _, d := range ae.Details {
		fmt.Fprintf(&b, " %s: %s.", d.Path, strings.Join(d.Errors, ", "))
	}
	return b.String()
}

// deploymentID reads the deployment id of a state-changing answer.
func deploymentID(body []byte) string {
	var out struct {
		DeploymentID string `json:"deploymentId"`
	}
	_ = json.Unmarshal(body, &out)
	return out.DeploymentID
}

// appAction runs one of the app page's forms: scale, restart, suspend,
// destroy (typed confirmation), kill (tasks, optionally scaling down),
// apply (a stored version).
func (u *UI) appAction(w http.ResponseWriter, r *http.Request) {
	id := normalizeID(r.PathValue("id"))
	back := appHref(id)
	if err := r.ParseForm(); err != nil {
		redirect(w, r, back, "", err)
		return
	}
	f := r.PostForm
	// force overrides a deployment that locks the app (Marathon's
	// ?force=true), offered after a 409.
	force := ""
	if f.Get("force") == "1" {
		force = "?force=true"
	}
	res := u.runAppAction(r, id, f, force)
	err := res.err
	switch {
	case statusOf(err) == http.StatusUnauthorized:
		u.fail(w, r, err)
	case res.to != "":
		redirect(w, r, res.to, res.msg, err)
	case statusOf(err) == http.StatusConflict && force == "":
		// Offer the same action again with force.
		retry := url.Values{}
		for _, k := range []string{"action", "instances", "version"} {
			if v := f.Get(k); v != "" {
				retry.Set(k, v)
			}
		}
		q := url.Values{"err": {errMessage(err)}, "retry": {retry.Encode()}}
		http.Redirect(w, r, back+"?"+q.Encode(), http.StatusSeeOther)
	default:
		msg := res.msg
		if d := deploymentID(res.body); d != "" && err == nil {
			msg += " (deployment " + d + ")"
		}
		redirect(w, r, back, msg, err)
	}
}

// actionResult is what one app action did: the API's answer, the notice,
// the error, and where to go when not back to the app (to).
type actionResult struct {
	body    []byte
	msg, to string
	err     error
}

func (u *UI) runAppAction(r *http.Request, id string, f url.Values, force string) actionResult {
	ctx, a := r.Context(), u.api(r)
	var res actionResult
	switch f.Get("action") {
	case "scale", "suspend":
		n := 0
		if f.Get("action") == "scale" {
			var err error
			if n, err = strconv.Atoi(strings.TrimSpace(f.Get("instances"))); err != nil || n < 0 {
				return actionResult{err: fmt.Errorf("instances %q: want a whole number, 0 or more", f.Get("instances"))}
			}
		}
		inst, _ := json.Marshal(map[string]int{"instances": n})
		res.body, _, res.err = a.call(ctx, http.MethodPatch, appPath(id)+force, inst)
		res.msg = fmt.Sprintf("Scaling %s to %d instance(s)", id, n)
	case "restart":
		res.body, _, res.err = a.call(ctx, http.MethodPost, appPath(id)+"/restart"+force, nil)
		res.msg = "Restarting " + id
	case "destroy":
		if normalizeID(f.Get("confirm")) != id || strings.TrimSpace(f.Get("confirm")) == "" {
			return actionResult{err: fmt.Errorf("not destroyed: type the app id %s to confirm", id)}
		}
		if _, _, res.err = a.call(ctx, http.MethodDelete, appPath(id), nil); res.err == nil {
			res.to, res.msg = "/ui/apps", "Destroying "+id
		}
	case "kill":
		ids := f["task"]
		if len(ids) == 0 {
			return actionResult{err: errors.New("select the tasks to kill")}
		}
		scale := f.Get("scale") == "true"
		req, _ := json.Marshal(map[string][]string{"ids": ids})
		_, _, res.err = a.call(ctx, http.MethodPost, "/v2/tasks/delete?scale="+strconv.FormatBool(scale), req)
		res.msg = "Killing " + plural(len(ids), "task")
		if scale {
			res.msg += " and scaling down"
		}
	case "apply":
		v, _ := json.Marshal(map[string]string{"version": f.Get("version")})
		res.body, _, res.err = a.call(ctx, http.MethodPut, appPath(id)+force, v)
		res.msg = "Applying version " + f.Get("version")
	default:
		return actionResult{err: fmt.Errorf("unknown action %q", f.Get("action"))}
	}
	return res
}

// RetryForm is an action refused because a deployment locks the app,
// offered again with force.
type RetryForm struct {
	Action string
	Fields []Hidden
}

// Hidden is one hidden form field.
type Hidden struct{ Name, Value string }

// retryForm reads the ?retry= of a redirect after a 409 (nil: none).
func retryForm(q url.Values) *RetryForm {
	v, err := url.ParseQuery(q.Get("retry"))
	if err != nil || v.Get("action") == "" {
		return nil
	}
	rf := &RetryForm{Action: v.Get("action")}
	for _, k := range []string{"action", "instances", "version"} {
		if x := v.Get(k); x != "" {
			rf.Fields = append(rf.Fields, Hidden{k, x})
		}
	}
	return rf
}

// deploymentAction rolls a deployment back (DELETE) or stops it without
// rollback (DELETE ?force=true).
func (u *UI) deploymentAction(w http.ResponseWriter, r *http.Request) {
	back := "/ui/deployments"
	if ref, err := url.Parse(r.Referer()); err == nil && strings.HasPrefix(ref.Path, "/ui/") && (ref.Host == "" || ref.Host == r.Host) {
		back = ref.Path
	}
	if err := r.ParseForm(); err != nil {
		redirect(w, r, back, "", err)
		return
	}
	id := r.PostForm.Get("id")
	path := "/v2/deployments/" + url.PathEscape(id)
	msg := "Rolling back deployment " + id
	if r.PostForm.Get("action") == "stop" {
		path += "?force=true"
		msg = "Stopped deployment " + id
	}
	_, _, err := u.api(r).call(r.Context(), http.MethodDelete, path, nil)
	if err != nil && statusOf(err) == http.StatusUnauthorized {
		u.fail(w, r, err)
		return
	}
	redirect(w, r, back, msg, err)
}

// saveApp creates (POST) or replaces (PUT) an app from doc and returns
// its id and the API's answer.
func (u *UI) saveApp(r *http.Request, edit bool, editID string, doc json.RawMessage) (string, []byte, error) {
	ctx, a := r.Context(), u.api(r)
	if edit {
		body, _, err := a.call(ctx, http.MethodPut, appPath(editID), doc)
		return editID, body, err
	}
	body, _, err := a.call(ctx, http.MethodPost, "/v2/apps", doc)
	var created struct {
		ID string `json:"id"`
	}
	if err == nil && json.Unmarshal(body, &created) == nil {
		return created.ID, body, nil
	}
	return "", body, err
}

// newDefinition is the create form's starting document.
var newDefinition = json.RawMessage(`{"id":"","cpus":0.1,"mem":64,"instances":1}`)

func (u *UI) newPage(w http.ResponseWriter, r *http.Request) {
	// The form shows no data, but the API's auth decides who may see it.
	var info infoJSON
	if err := u.api(r).get(r.Context(), "/v2/info", &info); err != nil {
		u.fail(w, r, err)
		return
	}
	p := NewFormView(newDefinition, nil, r.URL.Query().Get("mode"), nil, false)
	u.render(w, r, http.StatusOK, "form", &p)
}

func (u *UI) editPage(w http.ResponseWriter, r *http.Request) {
	id := normalizeID(r.PathValue("id"))
	app, err := getApp(r.Context(), u.api(r), id)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	p := NewFormView(editable(app.Raw), nil, r.URL.Query().Get("mode"), nil, true)
	u.render(w, r, http.StatusOK, "form", &p)
}

// editable is an app's definition without the fields a PUT must not
// carry back (status, version).
func editable(raw json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(definitionOnly(raw), &m) != nil {
		return raw
	}
	delete(m, "version")
	b, _ := json.Marshal(m)
	return b
}

// formPost handles the create and edit forms: switching modes re-renders
// the same document in the other mode; saving sends it to the API and
// shows the API's errors beside the fields they name.
func (u *UI) formPost(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f := r.PostForm
	edit := strings.HasPrefix(r.URL.Path, "/ui/edit/")
	editID := normalizeID(r.PathValue("id"))
	current, mode := f.Get("current"), f.Get("mode")
	var doc json.RawMessage
	var form *AppForm
	var details []apiDetail
	if current == "json" {
		doc = json.RawMessage(f.Get("json"))
		if !json.Valid(doc) {
			details = []apiDetail{{Path: "/", Errors: []string{"not valid JSON"}}}
			p := NewFormView(json.RawMessage(f.Get("base")), nil, "json", details, edit)
			p.JSON = f.Get("json")
			u.render(w, r, http.StatusUnprocessableEntity, "form", &p)
			return
		}
	} else {
		ff := FormFromValues(f)
		form = &ff
		doc = ApplyForm(json.RawMessage(f.Get("base")), ff)
	}
	switch mode {
	case "to-json":
		p := NewFormView(doc, nil, "json", nil, edit)
		u.render(w, r, http.StatusOK, "form", &p)
		return
	case "to-form":
		p := NewFormView(doc, nil, "form", nil, edit)
		u.render(w, r, http.StatusOK, "form", &p)
		return
	}
	id, body, err := u.saveApp(r, edit, editID, doc)
	if err == nil {
		msg := "Created " + id
		if edit {
			msg = "Saved " + id
		}
		if d := deploymentID(body); d != "" {
			msg += " (deployment " + d + ")"
		}
		redirect(w, r, appHref(id), msg, nil)
		return
	}
	var ae *apiError
	if !errors.As(err, &ae) || ae.Status == http.StatusUnauthorized {
		u.fail(w, r, err)
		return
	}
	details = ae.Details
	switch {
	case len(details) > 0:
	case ae.Status == http.StatusConflict && !edit: // the id is taken
		details = []apiDetail{{Path: "/id", Errors: []string{ae.Message}}}
	default:
		details = []apiDetail{{Path: "/", Errors: []string{ae.Message}}}
	}
	p := NewFormView(doc, form, current, details, edit)
	if form != nil {
		p.Base = f.Get("base")
	}
	u.render(w, r, ae.Status, "form", &p)
}
