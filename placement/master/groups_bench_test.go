package master

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkGetGroups measures GET /v2/groups (the whole tree with every
// app's definition) over 100 groups of 10 groups of 10 apps (10,000
// apps), and BenchmarkPostGroup one POST /v2/groups of 10 apps with a
// dependency chain into that state.
func BenchmarkGetGroups(b *testing.B) {
	m := benchGroups(b)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	b.ResetTimer()
	var size int64
	for i := 0; i < b.N; i++ {
		res, err := http.Get(srv.URL + "/v2/groups")
		if err != nil || res.StatusCode != 200 {
			b.Fatalf("GET /v2/groups: %v %v", err, res)
		}
		size, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	b.ReportMetric(float64(size)/(1<<20), "MiB-body")
}

func BenchmarkPostGroup(b *testing.B) {
	m := benchGroups(b)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := http.Post(srv.URL+"/v2/groups", "application/json", strings.NewReader(groupBody(fmt.Sprintf("/new/g%d", i))))
		if err != nil || res.StatusCode != 201 {
			b.Fatalf("POST /v2/groups: %v %v", err, res)
		}
		res.Body.Close()
	}
}

// groupBody is a group of 10 apps, each depending on the previous one.
func groupBody(id string) string {
	var apps []string
	for k := 0; k < 10; k++ {
		dep := ""
		if k > 0 {
			dep = fmt.Sprintf(`,"dependencies":["a%d"]`, k-1)
		}
		apps = append(apps, fmt.Sprintf(`{"id":"a%d","cmd":"sleep 1000","instances":0,"portDefinitions":[]%s}`, k, dep))
	}
	return `{"id":"` + id + `","apps":[` + strings.Join(apps, ",") + `]}`
}

func benchGroups(b *testing.B) *Master {
	b.Helper()
	m := benchMaster(b)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	for i := 0; i < 100; i++ {
		var groups []string
		for j := 0; j < 10; j++ {
			groups = append(groups, groupBody(fmt.Sprintf("/t%d/g%d", i, j)))
		}
		body := fmt.Sprintf(`{"id":"/t%d","groups":[%s]}`, i, strings.Join(groups, ","))
		res, err := http.Post(srv.URL+"/v2/groups", "application/json", strings.NewReader(body))
		if err != nil || res.StatusCode != 201 {
			b.Fatalf("seed: %v %v", err, res)
		}
		res.Body.Close()
	}
	return m
}
