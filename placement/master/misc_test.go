package master

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

func TestTaskEndpoints(t *testing.T) {
	h := newHarness(t, nil)
	a := h.agent("node-1", nil)
	h.must(201, "POST", "/v2/apps", `{"id":"/shop/web","cmd":"x","instances":3,"cpus":0.1,"mem":16}`)
	h.must(201, "POST", "/v2/apps", `{"id":"/batch","cmd":"x","cpus":0.1,"mem":16,"portDefinitions":[]}`)
	h.converge(a)
	all := h.must(200, "GET", "/v2/tasks", "").json(t)["tasks"].([]any)
	if len(all) != 4 {
		t.Fatalf("/v2/tasks: %d tasks", len(all))
	}
	task := all[0].(map[string]any)
	for _, k := range []string{"id", "appId", "host", "slaveId", "ports", "servicePorts", "stagedAt", "startedAt", "version", "state"} {
		if _, ok := task[k]; !ok {
			t.Errorf("task lacks %q: %v", k, task)
		}
	}
	if n := len(h.must(200, "GET", "/v2/tasks?status=staging", "").json(t)["tasks"].([]any)); n != 0 {
		t.Errorf("status=staging: %d", n)
	}
	if n := len(h.must(200, "GET", "/v2/tasks?status=running", "").json(t)["tasks"].([]any)); n != 4 {
		t.Errorf("status=running: %d", n)
	}
	text := string(h.do("GET", "/v2/tasks", "", "Accept", "text/plain").body)
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) != 2 || lines[0] != "batch\t \tnode-1\t" || !strings.HasPrefix(lines[1], "shop_web\t10000\tnode-1:310") ||
		strings.Count(lines[1], "node-1:") != 3 {
		t.Fatalf("text listing:\n%q", text)
	}
	appText := string(h.do("GET", "/v2/apps/shop/web/tasks", "", "Accept", "text/plain").body)
	if !strings.HasPrefix(appText, "shop_web\t10000\t") {
		t.Fatalf("app text listing %q", appText)
	}
	tasks := h.must(200, "GET", "/v2/apps/shop/web/tasks", "").json(t)["tasks"].([]any)
	id := tasks[0].(map[string]any)["id"].(string)
	// Kill one without scale: replaced.
	r := h.must(200, "DELETE", "/v2/apps/shop/web/tasks/"+id, "")
	if r.json(t)["task"].(map[string]any)["id"] != id {
		t.Fatalf("kill answer %s", r.body)
	}
	h.converge(a)
	if n := len(h.tasks("/shop/web")); n != 3 {
		t.Fatalf("killed task not replaced: %d", n)
	}
	// Kill with scale: instances decrease.
	id = h.tasks("/shop/web")[0].ID
	r = h.must(200, "POST", "/v2/tasks/delete?scale=true", `{"ids":["`+id+`"]}`)
	if r.json(t)["deploymentId"] == nil {
		t.Fatalf("scale kill answer %s", r.body)
	}
	h.converge(a)
	if app := h.app("/shop/web"); app["instances"] != 2.0 || len(h.tasks("/shop/web")) != 2 {
		t.Fatalf("after kill&scale: instances %v, tasks %d", app["instances"], len(h.tasks("/shop/web")))
	}
	h.must(400, "POST", "/v2/tasks/delete", `{"ids":["nope.1"]}`)
	// Kill all of an app.
	r = h.must(200, "DELETE", "/v2/apps/shop/web/tasks", "")
	if n := len(r.json(t)["tasks"].([]any)); n != 2 {
		t.Fatalf("kill all answered %d tasks", n)
	}
	// embed variants.
	apps := h.must(200, "GET", "/v2/apps?embed=apps.tasks&embed=apps.lastTaskFailure&embed=apps.taskStats", "").json(t)["apps"].([]any)
	first := apps[0].(map[string]any)
	if _, ok := first["tasks"]; !ok {
		t.Fatal("embed=apps.tasks missing tasks")
	}
	if _, ok := first["taskStats"]; !ok {
		t.Fatal("embed=apps.taskStats missing taskStats")
	}
	plain := h.must(200, "GET", "/v2/apps", "").json(t)["apps"].([]any)[0].(map[string]any)
	if _, ok := plain["tasks"]; ok {
		t.Fatal("tasks embedded without asking")
	}
	if _, ok := plain["tasksRunning"]; !ok {
		t.Fatal("counts missing from the list")
	}
	// Delete the app: tasks are killed, the app disappears, deployment completes.
	h.must(200, "DELETE", "/v2/apps/batch", "")
	h.must(404, "GET", "/v2/apps/batch", "")
	h.converge(a)
	if h.deploymentCount() != 0 || len(h.must(200, "GET", "/v2/tasks", "").json(t)["tasks"].([]any)) != 2 {
		t.Fatal("delete did not finish")
	}
}

func TestEventStream(t *testing.T) {
	h := newHarness(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", h.srv.URL+"/v2/events?event_type=api_post_event&event_type=deployment_info&event_type=deployment_success", nil)
	req.Header.Set("Accept", "text/event-stream")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	h.must(201, "POST", "/v2/apps", `{"id":"/ev","cmd":"x","instances":0}`)
	h.pass()
	want := map[string]bool{"event: api_post_event": true, "event: deployment_info": true, "event: deployment_success": true}
	got := 0
	deadline := time.After(10 * time.Second)
	for got < len(want) {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("stream closed")
			}
			if strings.HasPrefix(l, "event: ") {
				if !want[l] {
					t.Fatalf("unexpected %q (filter not applied?)", l)
				}
				want[l] = false
				got++
			}
			if strings.HasPrefix(l, "data: ") && !strings.Contains(l, `"eventType"`) {
				t.Fatalf("data without eventType: %s", l)
			}
		case <-deadline:
			t.Fatalf("only %d of %v events arrived", got, want)
		}
	}
}

func TestInfoLeaderPingMetricsState(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Advertise = "127.0.0.1:8080" })
	h.agent("node-1", map[string]string{"rack": "r1"})
	if r := h.must(200, "GET", "/ping", ""); strings.TrimSpace(string(r.body)) != "pong" {
		t.Fatalf("ping: %q", r.body)
	}
	if l := h.must(200, "GET", "/v2/leader", "").json(t); l["leader"] != "127.0.0.1:8080" {
		t.Fatalf("leader = %v", l)
	}
	info := h.must(200, "GET", "/v2/info", "").json(t)
	if info["elected"] != true || info["marathon_config"].(map[string]any)["local_port_min"] != 10000.0 {
		t.Fatalf("info = %v", info)
	}
	h.must(201, "POST", "/v2/apps", `{"id":"/m","cmd":"x","cpus":0.5,"mem":32}`)
	h.pass()
	metrics := string(h.must(200, "GET", "/metrics", "").body)
	for _, want := range []string{"berth_master_apps 1", "berth_master_tasks 1", "berth_master_agents_active 1", `berth_master_http_requests_total{code="201",method="POST"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	st := h.must(200, "GET", "/master/state", "").json(t)
	sl := st["slaves"].([]any)[0].(map[string]any)
	if sl["hostname"] != "node-1" || sl["attributes"].(map[string]any)["rack"] != "r1" ||
		sl["used_resources"].(map[string]any)["cpus"] != 0.5 || sl["resources"].(map[string]any)["ports"] != "[31000-31100]" ||
		len(sl["tasks"].([]any)) != 1 || st["activated_slaves"] != 1.0 {
		t.Fatalf("master/state slave = %v", sl)
	}
	if r := h.must(200, "GET", "/v2/apps", ""); r.header.Get("X-Marathon-Leader") != "http://127.0.0.1:8080" {
		t.Fatalf("X-Marathon-Leader = %q", r.header.Get("X-Marathon-Leader"))
	}
}

func TestBasicAuth(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Credentials = "admin:pw" })
	r := h.do("GET", "/v2/apps", "")
	if r.code != 401 || r.header.Get("WWW-Authenticate") == "" || !strings.Contains(string(r.body), "Invalid username or password.") {
		t.Fatalf("no credentials: %d %v %s", r.code, r.header, r.body)
	}
	req, _ := http.NewRequest("GET", h.srv.URL+"/v2/apps", nil)
	req.SetBasicAuth("admin", "wrong")
	if res, _ := http.DefaultClient.Do(req); res.StatusCode != 401 {
		t.Fatalf("wrong password: %d", res.StatusCode)
	}
	req.SetBasicAuth("admin", "pw")
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("right password: %v %v", res.StatusCode, err)
	}
	res.Body.Close()
}

// TestServeTLSAndRestart runs the real server with TLS on a free port,
// stops it and starts it again on the same work dir.
func TestServeTLSAndRestart(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	port := testenv.FreePort(t)
	listen := net.JoinHostPort("127.0.0.1", itoa(port))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: 10 * time.Second}
	run := func(body func()) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		ready := make(chan struct{})
		go func() {
			done <- Serve(ctx, ServerConfig{Listen: listen, WorkDir: dir, TLSCert: cert, TLSKey: key,
				Master: Config{Credentials: "u:p"}, Ready: func(string) { close(ready) }})
		}()
		select {
		case <-ready:
		case err := <-done:
			t.Fatalf("serve: %v", err)
		}
		body()
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("serve returned %v", err)
		}
	}
	call := func(method, path, body string) *http.Response {
		req, _ := http.NewRequest(method, "https://"+listen+path, strings.NewReader(body))
		req.SetBasicAuth("u", "p")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	run(func() {
		if res := call("POST", "/v2/apps", `{"id":"/tls","cmd":"x","instances":0}`); res.StatusCode != 201 {
			t.Fatalf("POST over TLS: %d", res.StatusCode)
		}
	})
	run(func() {
		if res := call("GET", "/v2/apps/tls", ""); res.StatusCode != 200 {
			t.Fatalf("app gone after restart: %d", res.StatusCode)
		}
	})
}

func selfSigned(t *testing.T, dir string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	cp, kp := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	_ = os.WriteFile(cp, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(kp, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return cp, kp
}
