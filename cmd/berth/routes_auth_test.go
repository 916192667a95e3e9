package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRoutesCredentials: berth routes sends --lbsync-credentials (or
// BERTH_LBSYNC_CREDENTIALS) to an lbsync status port that requires them,
// and says 401 without them.
func TestRoutesCredentials(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "ops" || p != "s3cret" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	t.Setenv("BERTH_LBSYNC_CREDENTIALS", "")
	run := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := runRoutes(context.Background(), append([]string{"--lbsync", srv.URL, "--json"}, args...), &out, &errb)
		return code, errb.String()
	}
	if code, errs := run(); code != 1 || !strings.Contains(errs, "401") {
		t.Errorf("without credentials: exit %d, %q; want 1 naming 401", code, errs)
	}
	if code, errs := run("--lbsync-credentials", "ops:s3cret"); code != 0 {
		t.Errorf("--lbsync-credentials: exit %d, %q", code, errs)
	}
	t.Setenv("BERTH_LBSYNC_CREDENTIALS", "ops:s3cret")
	if code, errs := run(); code != 0 {
		t.Errorf("BERTH_LBSYNC_CREDENTIALS: exit %d, %q", code, errs)
	}
}
