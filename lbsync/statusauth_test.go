package lbsync

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestStatusCredentials: with StatusCredentials every status path needs
// them (a wrong password too is refused, and the refusal names the
// flags); without, the paths stay open.
func TestStatusCredentials(t *testing.T) {
	if _, err := New(Config{Source: &fakeSource{}, Rules: Rules{HTTPPort: 80}, StatusCredentials: "nocolon"}); err == nil {
		t.Fatal("status credentials without ':' accepted")
	}
	s, err := New(Config{Source: &fakeSource{}, Rules: Rules{HTTPPort: 80}, StatusCredentials: "ops:s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	open, err := New(Config{Source: &fakeSource{}, Rules: Rules{HTTPPort: 80}})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/routes", "/metrics"} {
		cases := []struct {
			name, user, pass string
			h                http.Handler
			want             int
		}{
			{"no credentials", "", "", s.Handler(), http.StatusUnauthorized},
			{"wrong password", "ops", "nope", s.Handler(), http.StatusUnauthorized},
			{"the credentials", "ops", "s3cret", s.Handler(), http.StatusOK},
			{"none configured", "", "", open.Handler(), http.StatusOK},
		}
		for _, c := range cases {
			req := httptest.NewRequest("GET", path, nil)
			if c.user != "" {
				req.SetBasicAuth(c.user, c.pass)
			}
			rec := httptest.NewRecorder()
			c.h.ServeHTTP(rec, req)
			if rec.Code != c.want {
				t.Errorf("%s, %s: %d, want %d", path, c.name, rec.Code, c.want)
			}
			if c.want == http.StatusUnauthorized && (!strings.Contains(rec.Body.String(), "--status-credentials") || strings.Contains(rec.Body.String(), "s3cret")) {
				t.Errorf("%s, %s: refusal %q should name --status-credentials and not the secret", path, c.name, rec.Body.String())
			}
		}
	}
}
