package agent

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestAgentSecret: with --agent-secret the agent's API answers 401 to a
// request without the bearer token or with another one, naming the
// header; the right token (what the master and the registrator send)
// passes; without a secret the API stays open, as before.
func TestAgentSecret(t *testing.T) {
	for _, tc := range []struct {
		name, secret, auth string
		code               int
		msg                string
	}{
		{"no secret configured, no header", "", "", 200, ""},
		{"no secret configured, any header", "", "Bearer x", 200, ""},
		{"missing", "s3cret", "", 401, "Authorization: missing"},
		{"wrong", "s3cret", "Bearer nope", 401, "Authorization: not this agent's --agent-secret"},
		{"not bearer", "s3cret", "Basic czNjcmV0", 401, "Authorization: not"},
		{"right", "s3cret", "Bearer s3cret", 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &Agent{cfg: Config{Secret: tc.secret, Hostname: "h"}}
			for _, path := range []string{"/v1/state", "/v1/tasks/x/logs"} {
				req := httptest.NewRequest("GET", path, nil)
				if tc.auth != "" {
					req.Header.Set("Authorization", tc.auth)
				}
				rec := httptest.NewRecorder()
				a.Handler().ServeHTTP(rec, req)
				code := rec.Code
				if path != "/v1/state" && code == http.StatusNotFound {
					code = 200 // reached the handler: the task is unknown
				}
				if code != tc.code || !strings.Contains(rec.Body.String(), tc.msg) {
					t.Errorf("%s: %d %s, want %d with %q", path, rec.Code, rec.Body, tc.code, tc.msg)
				}
				if tc.code == 401 && rec.Header().Get("WWW-Authenticate") == "" {
					t.Errorf("%s: 401 without WWW-Authenticate", path)
				}
			}
		})
	}
}
