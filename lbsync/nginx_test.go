package lbsync

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/berth-platform/berth/internal/testenv"
)

// TestNginxTemplates renders the shipped classic consul-template template
// (examples/nginx/nginx.ctmpl, its port swapped for a free one) with the
// consul-template library, and the built-in nginx template over the
// routing model, into one real nginx, and fetches through both.
func TestNginxTemplates(t *testing.T) {
	bin := testenv.NginxBinary(t)
	classic, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "examples", "nginx", "nginx.ctmpl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`{{range service "nginx"}}server {{.Address}}:{{.Port}} max_fails=3 fail_timeout=90;{{end}}`,
		"listen 8085;", "proxy_pass http://nginx;",
	} {
		if !strings.Contains(string(classic), want) {
			t.Fatalf("examples/nginx/nginx.ctmpl lacks %q", want)
		}
	}
	work := t.TempDir()
	classicPort, builtinPort := testenv.FreePort(t), testenv.FreePort(t)
	src := filepath.Join(work, "nginx.ctmpl")
	os.WriteFile(src, []byte(strings.Replace(string(classic), "listen 8085;", fmt.Sprintf("listen %d;", classicPort), 1)), 0o644)
	classicOut, builtinOut := filepath.Join(work, "classic.conf"), filepath.Join(work, "builtin.conf")
	os.WriteFile(classicOut, nil, 0o644)
	os.WriteFile(builtinOut, nil, 0o644)
	ngx := testenv.StartNginx(t, fmt.Sprintf("include %s;\ninclude %s;", classicOut, builtinOut))
	args := fmt.Sprintf("%s -p %s -e %s -c %s", bin, ngx.Dir, filepath.Join(ngx.Dir, "error.log"), ngx.ConfPath)
	check, reload := args+" -t -q", args+" -s reload"

	var h *harness
	h = startHarness(t, harnessOpts{
		extraTargets: func(hh *harness) []Target {
			return []Target{NewNginxTarget(NginxTargetConfig{Port: builtinPort, Destination: builtinOut, Check: check, Reload: reload})}
		},
		templates: func(hh *harness) *TemplateRunner {
			return NewTemplateRunner(TemplateRunnerConfig{
				ConsulAddr: hh.consul.HTTPAddr, Check: check, WaitMin: 50 * time.Millisecond, WaitMax: time.Second,
				Templates: []TemplateSpec{{Source: src, Destination: classicOut, Reload: reload}},
				OnResult:  func(spec TemplateSpec, err error) { h.syncer.TemplateResult(spec, err) },
			})
		},
	})

	// No instance of "nginx" yet: the classic template's empty upstream
	// gets a placeholder server, so the render passes nginx -t and no
	// error is shown.
	testenv.WaitFor(t, 15*time.Second, "the classic template rendered with no instances", func() error {
		st := h.syncer.Status()
		if len(st.Templates) != 1 || st.Templates[0].LastRender.IsZero() || st.Templates[0].LastError != "" {
			return fmt.Errorf("template status %+v", st.Templates)
		}
		if b, _ := os.ReadFile(classicOut); !strings.Contains(string(b), EmptyUpstreamPlaceholder) {
			return fmt.Errorf("classic render:\n%s", b)
		}
		return nil
	})

	// The classic template: plain Consul services named "nginx".
	for i, name := range []string{"n1", "n2"} {
		b := newBackend(t, name)
		err := h.consul.Client.Agent().ServiceRegister(&api.AgentServiceRegistration{
			ID: fmt.Sprintf("nginx-%d", i), Name: "nginx", Address: "127.0.0.1", Port: b.port(),
			Check: &api.AgentServiceCheck{TTL: "10m", Status: api.HealthPassing},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	h.expectSet(classicPort, "", "n1", "n2")
	out, _ := os.ReadFile(classicOut)
	if !strings.Contains(string(out), "max_fails=3 fail_timeout=90;") {
		t.Errorf("classic render:\n%s", out)
	}

	// The built-in template: a Berth app with a virtual host.
	blog := h.register("/blog", testenv.FreePort(t), newBackend(t, "blog"), "HAPROXY_0_VHOST", "blog.example.test")
	h.expectSet(builtinPort, "blog.example.test", "blog")
	// Its last instance gone: the vhost answers 503 with a short body.
	h.deregister(blog)
	h.expectStatus(builtinPort, "blog.example.test", 503, "no ready instance")

	st := fetchStatus(t, h.statusAddr)
	if len(st.Templates) != 1 || st.Templates[0].LastRender.IsZero() || st.Templates[0].LastError != "" {
		t.Errorf("template status = %+v", st.Templates)
	}
}

// TestSwapCheckedRestoresOnFailedCheck: a candidate the checker refuses is
// rolled back and the reload command never runs.
func TestSwapCheckedRestoresOnFailedCheck(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "out.conf")
	os.WriteFile(dest, []byte("old"), 0o644)
	marker := filepath.Join(dir, "reloaded")
	err := swapChecked(context.Background(), "nginx:test", dest, []byte("new"), "false", "touch "+marker)
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("err = %v, want a ValidationError", err)
	}
	if b, _ := os.ReadFile(dest); string(b) != "old" {
		t.Errorf("dest = %q after a failed check", b)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("reload ran after a failed check")
	}
	if err := swapChecked(context.Background(), "nginx:test", dest, []byte("new"), "true", "touch "+marker); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dest); string(b) != "new" {
		t.Errorf("dest = %q after a good check", b)
	}
	if b, _ := os.ReadFile(dest + ".bak"); string(b) != "old" {
		t.Errorf("backup = %q", b)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Error("reload did not run after a good check")
	}
}

func TestParseTemplateSpec(t *testing.T) {
	tests := []struct {
		in      string
		want    TemplateSpec
		wantErr bool
	}{
		{"a.ctmpl:b.conf", TemplateSpec{"a.ctmpl", "b.conf", DefaultNginxReload}, false},
		{"a:b:systemctl reload nginx", TemplateSpec{"a", "b", "systemctl reload nginx"}, false},
		{"a:b:sh -c 'x:y'", TemplateSpec{"a", "b", "sh -c 'x:y'"}, false},
		{"a", TemplateSpec{}, true},
		{":b", TemplateSpec{}, true},
	}
	for _, tt := range tests {
		got, err := ParseTemplateSpec(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseTemplateSpec(%q) = %+v, %v", tt.in, got, err)
		}
	}
}

// TestTemplateRunnerIsSupervised: a runner that stops (here: its template
// does not parse) is restarted until it works.
func TestTemplateRunnerIsSupervised(t *testing.T) {
	c := testenv.StartConsul(t)
	dir := t.TempDir()
	src, dest := filepath.Join(dir, "t.ctmpl"), filepath.Join(dir, "out.conf")
	os.WriteFile(src, []byte(`{{range services}}`), 0o644) // unterminated: the runner fails
	results := make(chan error, 100)
	r := NewTemplateRunner(TemplateRunnerConfig{ConsulAddr: c.HTTPAddr, Check: "true",
		Templates: []TemplateSpec{{Source: src, Destination: dest, Reload: "true"}},
		OnResult:  func(_ TemplateSpec, err error) { results <- err }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	testenv.WaitFor(t, 10*time.Second, "a runner restart", func() error {
		if r.Restarts() == 0 {
			return errors.New("no restart yet")
		}
		return nil
	})
	os.WriteFile(src, []byte(`{{range services}}{{.Name}} {{end}}`), 0o644)
	testenv.WaitFor(t, 15*time.Second, "the fixed template rendered", func() error {
		b, err := os.ReadFile(dest)
		if err != nil {
			return err
		}
		if !strings.Contains(string(b), "consul") {
			return fmt.Errorf("rendered %q", b)
		}
		return nil
	})
	if err := <-results; err != nil {
		t.Errorf("render result: %v", err)
	}
}

func TestFillEmptyUpstreams(t *testing.T) {
	tests := []struct {
		name, in string
		filled   []string
	}{
		{"classic, no instances", "upstream nginx {\n  \n}\nserver { listen 8085; }\n", []string{"nginx"}},
		{"with servers", "upstream a {\n  server 10.0.0.1:80 max_fails=3;\n}\n", nil},
		{"server on one line", "upstream a { server 10.0.0.1:80; }", nil},
		{"only other directives", "upstream a {\n  least_conn;\n  keepalive 8;\n}\n", []string{"a"}},
		{"a commented server does not count", "upstream a {\n  # server 10.0.0.1:80;\n}\n", []string{"a"}},
		{"commented upstream untouched", "# upstream a { }\nupstream b { server 1.2.3.4:1; }\n", nil},
		{"two, one empty", "upstream a { server 1.2.3.4:1; }\nupstream b {}\n", []string{"b"}},
		{"server blocks are not upstreams", "server { listen 80; location / { return 200; } }", nil},
	}
	for _, tt := range tests {
		out, filled := FillEmptyUpstreams([]byte(tt.in))
		if !slices.Equal(filled, tt.filled) {
			t.Errorf("%s: filled %v, want %v\n%s", tt.name, filled, tt.filled, out)
		}
		if len(tt.filled) == 0 && string(out) != tt.in {
			t.Errorf("%s: changed a config with no empty upstream:\n%s", tt.name, out)
		}
		if got := strings.Count(string(out), EmptyUpstreamPlaceholder); got != len(tt.filled) {
			t.Errorf("%s: %d placeholders:\n%s", tt.name, got, out)
		}
	}
}
