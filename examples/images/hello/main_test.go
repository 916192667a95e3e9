package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestListenPort(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "80"},
		{map[string]string{"PORT": "8081"}, "8081"},
		{map[string]string{"PORT": "8081", "PORT0": "31005"}, "31005"},
		// BRIDGE with containerPort 80: PORT0 is the host port.
		{map[string]string{"PORT": "31005", "PORT0": "31005", "PORT_80": "31005"}, "80"},
		// HOST networking: PORT_<n> is named after the port itself.
		{map[string]string{"PORT": "31005", "PORT0": "31005", "PORT_31005": "31005"}, "31005"},
	}
	for _, tt := range tests {
		if got := listenPort(func(k string) string { return tt.env[k] }); got != tt.want {
			t.Errorf("listenPort(%v) = %q, want %q", tt.env, got, tt.want)
		}
	}
}

func TestHandlerAnswersWithIdentity(t *testing.T) {
	srv := httptest.NewServer(handler("box-1", "web.1234"))
	defer srv.Close()
	req := httptest.NewRequest("GET", srv.URL+"/x", nil)
	req.RequestURI = ""
	req.Host = "web.example.com"
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{"hostname: box-1", "task: web.1234", "host: web.example.com", "path: /x"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("body %q lacks %q", body, want)
		}
	}
}

func TestKV(t *testing.T) {
	srv := httptest.NewServer(handler("h", "t"))
	defer srv.Close()
	do := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	steps := []struct {
		method, path, body string
		wantCode           int
		wantBody           string
	}{
		{"GET", "/kv/a", "", 404, "no such key\n"},
		{"PUT", "/kv/a", "1", 204, ""},
		{"GET", "/kv/a", "", 200, "1"},
		{"PUT", "/kv/a", "2", 204, ""},
		{"GET", "/kv/a", "", 200, "2"},
		{"DELETE", "/kv/a", "", 204, ""},
		{"GET", "/kv/a", "", 404, "no such key\n"},
		{"GET", "/kv/", "", 400, "key missing: use /kv/<key>\n"},
		{"PATCH", "/kv/a", "", 405, "method not allowed\n"},
	}
	for _, s := range steps {
		code, body := do(s.method, s.path, s.body)
		if code != s.wantCode || body != s.wantBody {
			t.Errorf("%s %s = %d %q, want %d %q", s.method, s.path, code, body, s.wantCode, s.wantBody)
		}
	}
}
