package ui

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/apiclient"
)

func TestAppStatus(t *testing.T) {
	dep := []apiclient.DeploymentRef{{ID: "d"}}
	for _, c := range []struct {
		name string
		app  apiclient.App
		q    *apiclient.QueueEntry
		want string
	}{
		{"running", apiclient.App{Instances: 2, TasksRunning: 2}, nil, StatusRunning},
		{"deploying", apiclient.App{Instances: 2, Deployments: dep}, nil, StatusDeploying},
		{"suspended", apiclient.App{Instances: 0}, nil, StatusSuspended},
		{"waiting", apiclient.App{Instances: 2}, &apiclient.QueueEntry{Count: 2, Delay: apiclient.QueueDelay{Overdue: true}}, StatusWaiting},
		{"deploying while queued", apiclient.App{Instances: 2, Deployments: dep}, &apiclient.QueueEntry{Count: 2, Delay: apiclient.QueueDelay{Overdue: true}}, StatusDeploying},
		{"delayed", apiclient.App{Instances: 2, Deployments: dep}, &apiclient.QueueEntry{Count: 2, Delay: apiclient.QueueDelay{TimeLeftSeconds: 30}}, StatusDelayed},
		{"scaling down to 0", apiclient.App{Instances: 0, TasksRunning: 1}, nil, StatusRunning},
	} {
		if got := appStatus(&c.app, c.q); got != c.want {
			t.Errorf("%s: status %s, want %s", c.name, got, c.want)
		}
	}
}

func TestInstancesBar(t *testing.T) {
	a := apiclient.App{Instances: 5, TasksRunning: 3, TasksHealthy: 1, TasksUnhealthy: 1, TasksStaged: 1}
	var got []string
	for _, s := range instancesBar(&a) {
		got = append(got, s.Class+":"+s.Title)
	}
	want := []string{"h:1 healthy", "u:1 unhealthy", "r:1 running", "s:1 staged", "w:1 waiting"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("bar %v, want %v", got, want)
	}
}

func TestDiff(t *testing.T) {
	ops := func(ls []DiffLine) string {
		var b strings.Builder
		for _, l := range ls {
			b.WriteString(l.Op + l.Text + "|")
		}
		return b.String()
	}
	for _, c := range []struct{ a, b, want string }{
		{"x\ny", "x\ny", "…|"},
		{"a\nb\nc", "a\nB\nc", " a|-b|+B| c|"},
		{"a", "a\nb", " a|+b|"},
		{"1\n2\n3\n4\n5\n6\n7\n8\n9\nX", "1\n2\n3\n4\n5\n6\n7\n8\n9\nY", "…| 7| 8| 9|-X|+Y|"},
	} {
		if got := ops(Diff(c.a, c.b)); got != c.want {
			t.Errorf("Diff(%q, %q) = %q, want %q", c.a, c.b, got, c.want)
		}
	}
}

func TestFieldErrors(t *testing.T) {
	by, general := FieldErrors([]apiDetail{
		{Path: "/id", Errors: []string{"bad id"}},
		{Path: "/container/docker/image", Errors: []string{"must not be empty"}},
		{Path: "/container/portMappings(0)/name", Errors: []string{"bad name"}},
		{Path: "/healthChecks(0)/path", Errors: []string{"bad path"}},
		{Path: "/env/FOO", Errors: []string{"error.expected.jsstring"}},
		{Path: "/cpusx", Errors: []string{"unknown"}},
		{Path: "/", Errors: []string{"no cmd"}},
	}, false)
	want := map[string][]string{"id": {"bad id"}, "image": {"must not be empty"}, "ports": {"bad name"},
		"health": {"bad path"}, "env": {"error.expected.jsstring"}}
	if !reflect.DeepEqual(by, want) {
		t.Errorf("by field %v, want %v", by, want)
	}
	if !reflect.DeepEqual(general, []string{"/cpusx: unknown", "/: no cmd"}) {
		t.Errorf("general %v", general)
	}
	if by, general := FieldErrors([]apiDetail{{Path: "/id", Errors: []string{"x"}}}, true); len(by) != 0 || len(general) != 1 {
		t.Errorf("JSON mode: %v %v", by, general)
	}
}

// TestFormRoundTrip: the form's fields merged into a definition read
// back the same, and the fields the form does not show are kept.
func TestFormRoundTrip(t *testing.T) {
	base := json.RawMessage(`{"id":"/a","cmd":"old","upgradeStrategy":{"minimumHealthCapacity":0.5},
		"healthChecks":[{"protocol":"TCP","portIndex":0,"delaySeconds":7},{"protocol":"TCP","portIndex":1}]}`)
	v := url.Values{"id": {"/shop/web"}, "image": {"berth/hello"}, "cpus": {"0.5"}, "mem": {"64"}, "instances": {"2"},
		"network": {netBridge}, "port.0.container": {"80"}, "port.0.host": {"0"}, "port.0.service": {"10080"},
		"port.0.protocol": {"tcp"}, "port.0.name": {"http"}, "port.1.container": {""},
		"env": {"A=1\nB=two words\n"}, "labels": {"HAPROXY_0_VHOST=web.example.com\n"},
		"constraints": {"hostname UNIQUE\nrack GROUP_BY 2\n"},
		"hc.protocol": {"HTTP"}, "hc.path": {"/health"}, "hc.portIndex": {"0"}, "hc.grace": {"30"},
		"vol.0.container": {"/data"}, "vol.0.host": {"/srv/data"}, "vol.0.mode": {"RO"}}
	f := FormFromValues(v)
	doc := ApplyForm(base, f)
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["cmd"]; ok {
		t.Errorf("cmd kept although emptied: %s", doc)
	}
	if m["cpus"] != 0.5 || m["instances"] != 2.0 || obj(m["upgradeStrategy"])["minimumHealthCapacity"] != 0.5 {
		t.Errorf("numbers or unknown fields lost: %s", doc)
	}
	hcs := list(m["healthChecks"])
	if len(hcs) != 2 || obj(hcs[0])["delaySeconds"] != 7.0 || obj(hcs[0])["path"] != "/health" {
		t.Errorf("health checks: %s", doc)
	}
	back := FormFromDefinition(doc)
	f.Ports[0].Index = 0
	if back.ID != f.ID || back.Image != f.Image || back.Network != netBridge || len(back.Ports) != 1 ||
		back.Ports[0] != (PortRow{ContainerPort: "80", HostPort: "0", ServicePort: "10080", Protocol: "tcp", Name: "http"}) ||
		back.Env != "A=1\nB=two words\n" || back.Constraints != "hostname UNIQUE\nrack GROUP_BY 2\n" ||
		back.HC.Path != "/health" || len(back.Volumes) != 1 || back.Volumes[0].Mode != "RO" {
		t.Errorf("round trip:\n got %+v\nfrom %s", back, doc)
	}
	// A number field the user got wrong goes to the API as typed.
	bad := ApplyForm(nil, AppForm{ID: "/x", CPUs: "lots", Network: netHost})
	if !strings.Contains(string(bad), `"cpus":"lots"`) || !strings.Contains(string(bad), `"portDefinitions":[]`) {
		t.Errorf("bad number: %s", bad)
	}
}

// TestHandlerTransportStreams: an answer's header arrives before the
// handler finishes, each write reaches the reader, and closing the body
// ends the handler.
func TestHandlerTransportStreams(t *testing.T) {
	step, ended := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(ended)
		w.Header().Set("X-Test", r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, "one\n")
		<-step
		io.WriteString(w, "two\n")
		<-r.Context().Done()
	})
	c := &http.Client{Transport: handlerTransport{h: h}}
	req, _ := http.NewRequest(http.MethodGet, apiBase+"/x", nil)
	req.Header.Set("Authorization", "Basic abc")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusAccepted || resp.Header.Get("X-Test") != "Basic abc" {
		t.Fatalf("answer %d %v", resp.StatusCode, resp.Header)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "one\n" {
		t.Fatalf("first chunk %q %v", buf, err)
	}
	close(step)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "two\n" {
		t.Fatalf("second chunk %q %v", buf, err)
	}
	resp.Body.Close()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("handler still running 10s after the body was closed")
	}
}

// TestHandlerTransportPanic: a panicking API handler fails the call, not
// the process.
func TestHandlerTransportPanic(t *testing.T) {
	c := &http.Client{Transport: handlerTransport{h: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	})}}
	resp, err := c.Get(apiBase + "/x")
	if err != nil {
		t.Fatal(err)
	}
	_, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || rerr == nil || !strings.Contains(rerr.Error(), "boom") {
		t.Fatalf("status %d, read error %v", resp.StatusCode, rerr)
	}
}
