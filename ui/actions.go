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
	ctx, a := r.Context(), u.api(r)
	id := normalizeID(r.PathValue("id"))
	back := appHref(id)
	if err := r.ParseForm(); err != nil {
		redirect(w, r, back, "", err)
		return
	}
	f := r.PostForm
	var (
		body []byte
		err  error
		msg  string
	)
	// force overrides a deployment that locks the app (Marathon's
	// ?force=true), offered after a 409.
	force := ""
	if f.Get("force") == "1" {
		force = "?force=true"
	}
	switch f.Get("action") {
	case "scale", "suspend":
		n := 0
		if f.Get("action") == "scale" {
			if n, err = strconv.Atoi(strings.TrimSpace(f.Get("instances"))); err != nil || n < 0 {
				redirect(w, r, back, "", fmt.Errorf("instances %q: want a whole number, 0 or more", f.Get("instances")))
				return
			}
		}
		inst, _ := json.Marshal(map[string]int{"instances": n})
		body, _, err = a.call(ctx, http.MethodPatch, appPath(id)+force, inst)
		msg = fmt.Sprintf("Scaling %s to %d instance(s)", id, n)
	case "restart":
		body, _, err = a.call(ctx, http.MethodPost, appPath(id)+"/restart"+force, nil)
		msg = "Restarting " + id
	case "destroy":
		if normalizeID(f.Get("confirm")) != id || strings.TrimSpace(f.Get("confirm")) == "" {
			redirect(w, r, back, "", fmt.Errorf("not destroyed: type the app id %s to confirm", id))
			return
		}
		if _, _, err = a.call(ctx, http.MethodDelete, appPath(id), nil); err == nil {
			redirect(w, r, "/ui/apps", "Destroying "+id, nil)
			return
		}
	case "kill":
		ids := f["task"]
		if len(ids) == 0 {
			redirect(w, r, back, "", errors.New("select the tasks to kill"))
			return
		}
		scale := f.Get("scale") == "true"
		req, _ := json.Marshal(map[string][]string{"ids": ids})
		_, _, err = a.call(ctx, http.MethodPost, "/v2/tasks/delete?scale="+strconv.FormatBool(scale), req)
		msg = "Killing " + plural(len(ids), "task")
		if scale {
			msg += " and scaling down"
		}
	case "apply":
		v, _ := json.Marshal(map[string]string{"version": f.Get("version")})
		body, _, err = a.call(ctx, http.MethodPut, appPath(id)+force, v)
		msg = "Applying version " + f.Get("version")
	default:
		redirect(w, r, back, "", fmt.Errorf("unknown action %q", f.Get("action")))
		return
	}
	if err != nil && statusOf(err) == http.StatusUnauthorized {
		u.fail(w, r, err)
		return
	}
	if d := deploymentID(body); d != "" && err == nil {
		msg += " (deployment " + d + ")"
	}
	if statusOf(err) == http.StatusConflict && force == "" {
		// Offer the same action again with force.
		retry := url.Values{}
		for _, k := range []string{"action", "instances", "version"} {
			if v := f.Get(k); v != "" {
				retry.Set(k, v)
			}
		}
		q := url.Values{"err": {errMessage(err)}, "retry": {retry.Encode()}}
		http.Redirect(w, r, back+"?"+q.Encode(), http.StatusSeeOther)
		return
	}
	redirect(w, r, back, msg, err)
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
	ctx, a := r.Context(), u.api(r)
	var err error
	var body []byte
	id := editID
	if edit {
		body, _, err = a.call(ctx, http.MethodPut, appPath(editID), doc)
	} else {
		body, _, err = a.call(ctx, http.MethodPost, "/v2/apps", doc)
		var created struct {
			ID string `json:"id"`
		}
		if err == nil && json.Unmarshal(body, &created) == nil {
			id = created.ID
		}
	}
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
	if len(details) == 0 {
		details = []apiDetail{{Path: "/", Errors: []string{ae.Message}}}
	}
	p := NewFormView(doc, form, current, details, edit)
	if form != nil {
		p.Base = f.Get("base")
	}
	u.render(w, r, ae.Status, "form", &p)
}
