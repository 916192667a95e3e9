package ui_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAuthProtectsTheUI: with --http-credentials no page and no event
// shows data without them (the browser is asked to sign in); with them
// every page renders; the static files and the / redirect ask as well.
func TestAuthProtectsTheUI(t *testing.T) {
	s := startStack(t, stackOpts{credentials: "admin:s3cret", noAgent: true})
	if code, b, err := s.do(http.MethodPost, "/v2/apps", `{"id":"/secret-app","cmd":"sleep 1000","cpus":0.1,"mem":16}`); err != nil || code != 201 {
		t.Fatalf("create: %d %s %v", code, b, err)
	}
	get := func(path, user, pass string) (int, http.Header, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, s.url+path, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := (&http.Client{Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, resp.Header, string(b)
	}
	pages := []string{"/ui/apps", "/ui/apps/secret-app", "/ui/edit/secret-app", "/ui/new", "/ui/tasks", "/ui/agents",
		"/ui/cluster", "/ui/routes", "/ui/deployments", "/ui/events", "/ui/tasks/secret-app.1/logs"}
	for _, p := range pages {
		code, hdr, body := get(p, "", "")
		if code != http.StatusUnauthorized || !strings.Contains(hdr.Get("WWW-Authenticate"), "Basic") || strings.Contains(body, "secret-app\"") {
			t.Errorf("%s without credentials: %d %q %.200s", p, code, hdr.Get("WWW-Authenticate"), body)
		}
		if code, _, _ := get(p, "admin", "wrong"); code != http.StatusUnauthorized {
			t.Errorf("%s with a wrong password: %d", p, code)
		}
	}
	for _, p := range pages[:9] {
		if code, _, body := get(p, "admin", "s3cret"); code != http.StatusOK {
			t.Errorf("%s with credentials: %d %.300s", p, code, body)
		}
	}
	if _, _, body := get("/ui/apps", "admin", "s3cret"); !strings.Contains(body, "/secret-app") {
		t.Errorf("apps page does not list the app: %.500s", body)
	}
	// Every surface asks, the console's own files and the / redirect too
	// (issue 17: no HTTP surface answers without the credentials).
	if code, _, _ := get("/ui/static/ui.css", "", ""); code != http.StatusUnauthorized {
		t.Errorf("static without credentials: %d, want 401", code)
	}
	if code, _, _ := get("/ui/static/ui.css", "admin", "s3cret"); code != http.StatusOK {
		t.Errorf("static with credentials: %d", code)
	}
	if code, _, _ := get("/", "", ""); code != http.StatusUnauthorized {
		t.Errorf("/ without credentials: %d, want 401", code)
	}
	if code, hdr, _ := get("/", "admin", "s3cret"); code != http.StatusFound || hdr.Get("Location") != "/ui/" {
		t.Errorf("/ → %d %s", code, hdr.Get("Location"))
	}
	// A cross-site form post is refused before it reaches the API.
	req, _ := http.NewRequest(http.MethodPost, s.url+"/ui/apps/secret-app", strings.NewReader("action=destroy&confirm=/secret-app"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.SetBasicAuth("admin", "s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST: %d, want 403", resp.StatusCode)
	}
	if code, _, _ := s.do(http.MethodGet, "/v2/apps/secret-app", ""); code != http.StatusOK {
		t.Errorf("the app is gone after a refused cross-site POST: %d", code)
	}
}
