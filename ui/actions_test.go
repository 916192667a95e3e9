package ui_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestLockedAppOffersForce: an action refused because a deployment locks
// the app (409) comes back with the API's message and a form that
// repeats it with force, which then goes through.
func TestLockedAppOffersForce(t *testing.T) {
	s := startStack(t, stackOpts{noAgent: true})
	// Without an agent the create deployment never ends: the app stays locked.
	if code, b, err := s.do(http.MethodPost, "/v2/apps", `{"id":"/locked","cmd":"sleep 1000","cpus":0.1,"mem":16,"instances":1}`); err != nil || code != 201 {
		t.Fatalf("create: %d %s %v", code, b, err)
	}
	client := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(form url.Values) *http.Response {
		t.Helper()
		resp, err := client.PostForm(s.url+"/ui/apps/locked", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := post(url.Values{"action": {"scale"}, "instances": {"3"}})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "retry=") || !strings.Contains(loc, "locked+by") {
		t.Fatalf("scale of a locked app: %d %s", resp.StatusCode, loc)
	}
	page, err := client.Get(s.url + loc)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if !strings.Contains(string(body), "Force scale anyway") || !strings.Contains(string(body), `name="instances" value="3"`) {
		t.Fatalf("page after the 409 offers no force:\n%.3000s", body)
	}
	resp = post(url.Values{"action": {"scale"}, "instances": {"3"}, "force": {"1"}})
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "msg=Scaling") {
		t.Fatalf("forced scale: %d %s", resp.StatusCode, loc)
	}
	if _, b, _ := s.do(http.MethodGet, "/v2/apps/locked", ""); !strings.Contains(string(b), `"instances":3`) {
		t.Fatalf("app after the forced scale: %.300s", b)
	}
}
