package agent

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/agent/agenttest"
	"github.com/berth-platform/berth/internal/wire"
)

func tgz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		_, _ = tw.Write([]byte(body))
	}
	_ = tw.Close()
	_ = gz.Close()
	return buf.Bytes()
}

func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(body))
	}
	_ = zw.Close()
	return buf.Bytes()
}

func TestFetchAll(t *testing.T) {
	src := t.TempDir()
	local := filepath.Join(src, "config.txt")
	if err := os.WriteFile(local, []byte("local"), 0o644); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"/app.tgz":   tgz(t, map[string]string{"app/run.sh": "echo run", "VERSION": "1.2"}),
		"/site.zip":  zipOf(t, map[string]string{"site/index.html": "<h1>hi</h1>"}),
		"/tool":      []byte("#!/bin/sh\necho tool\n"),
		"/evil.tgz":  tgz(t, map[string]string{"../escape": "x"}),
		"/plain.tgz": tgz(t, map[string]string{"inner": "kept packed"}),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(b)
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name  string
		uris  []wire.FetchURI
		check map[string]string // sandbox file -> content
		exec  string            // a file that must be executable
		err   string
	}{
		{name: "local path", uris: []wire.FetchURI{{URI: local}}, check: map[string]string{"config.txt": "local"}},
		{name: "file URI with destPath", uris: []wire.FetchURI{{URI: "file://" + local, DestPath: "conf/c.txt"}},
			check: map[string]string{"conf/c.txt": "local"}},
		{name: "http tgz extracted", uris: []wire.FetchURI{{URI: srv.URL + "/app.tgz", Extract: true}},
			check: map[string]string{"app/run.sh": "echo run", "VERSION": "1.2"}},
		{name: "http zip extracted", uris: []wire.FetchURI{{URI: srv.URL + "/site.zip", Extract: true}},
			check: map[string]string{"site/index.html": "<h1>hi</h1>"}},
		{name: "archive not extracted without extract", uris: []wire.FetchURI{{URI: srv.URL + "/plain.tgz"}},
			check: map[string]string{"plain.tgz": string(files["/plain.tgz"])}},
		{name: "executable", uris: []wire.FetchURI{{URI: srv.URL + "/tool", Executable: true}}, exec: "tool"},
		{name: "404", uris: []wire.FetchURI{{URI: srv.URL + "/missing"}}, err: "404"},
		{name: "archive leaving the sandbox", uris: []wire.FetchURI{{URI: srv.URL + "/evil.tgz", Extract: true}}, err: "leaves the sandbox"},
		{name: "destPath leaving the sandbox", uris: []wire.FetchURI{{URI: local, DestPath: "../x"}}, err: "inside the sandbox"},
		{name: "unsupported scheme", uris: []wire.FetchURI{{URI: "s3://bucket/x"}}, err: "unsupported scheme"},
		{name: "missing local file", uris: []wire.FetchURI{{URI: filepath.Join(src, "nope")}}, err: "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := t.TempDir()
			err := FetchAll(context.Background(), sb, tc.uris, nil)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range tc.check {
				b, err := os.ReadFile(filepath.Join(sb, name))
				if err != nil || string(b) != want {
					t.Errorf("%s = %q %v, want %q", name, b, err, want)
				}
			}
			if tc.exec != "" {
				st, err := os.Stat(filepath.Join(sb, tc.exec))
				if err != nil || st.Mode().Perm()&0o111 == 0 {
					t.Errorf("%s not executable: %v %v", tc.exec, st, err)
				}
			}
		})
	}
}

// TestProcessTaskFetch runs a process task through the agent whose
// command uses what was fetched into its sandbox.
func TestProcessTaskFetch(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(tgz(t, map[string]string{"bin/hello.txt": "fetched-ok"}))
	}))
	defer srv.Close()
	m := agenttest.NewMaster(t)
	h := startAgent(t, m, t.TempDir(), harnessOpts{runtimes: processRuntimes(t)})
	spec := processSpec("fetch.p1", `cat bin/hello.txt; exec sleep 60`)
	spec.Fetch = []wire.FetchURI{{URI: srv.URL + "/pkg.tgz", Extract: true}}
	m.SetDesired(h.a.ID(), []wire.TaskSpec{spec})
	m.WaitState(t, spec.TaskID, wire.TaskRunning, 10*time.Second)
	waitFor(t, 5*time.Second, "the fetched file on stdout", func() error {
		out, _, err := h.logs(spec.TaskID, "stdout", 0)
		if err == nil && out != "fetched-ok" {
			return os.ErrNotExist
		}
		return err
	})
	bad := processSpec("fetch.p2", `exec sleep 60`)
	bad.Fetch = []wire.FetchURI{{URI: srv.URL + "/../../etc"}}
	bad.Fetch[0].URI = "s3://nowhere/x"
	m.SetDesired(h.a.ID(), []wire.TaskSpec{spec, bad})
	failed := m.WaitState(t, bad.TaskID, wire.TaskFailed, 10*time.Second)
	if !strings.Contains(failed.Message, "unsupported scheme") {
		t.Errorf("failed status message = %q", failed.Message)
	}
}
