package main

import (
	"io"
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
