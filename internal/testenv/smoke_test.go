package testenv

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"
	"github.com/go-zookeeper/zk"
	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"
)

// get fetches url with an optional Host header and returns the body.
func get(url, host string) (string, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return "", err
	}
	if host != "" {
		req.Host = host
	}
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(body), fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(body), err
}

func TestSmokeDocker(t *testing.T) {
	cli := Docker(t)
	Image(t, "berth/hello")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	label := "smoke-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	CleanupContainers(t, cli, "berth.test", label)
	created, err := cli.ContainerCreate(ctx,
		&container.Config{
			Image:        "berth/hello",
			Env:          []string{"MESOS_TASK_ID=smoke.1"},
			ExposedPorts: nat.PortSet{"80/tcp": {}},
			Labels:       map[string]string{"berth.test": label},
		},
		&container.HostConfig{PortBindings: nat.PortMap{"80/tcp": {{HostIP: "127.0.0.1", HostPort: "0"}}}},
		nil, nil, "")
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if err := cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		t.Fatalf("start: %v", err)
	}
	info, err := cli.ContainerInspect(ctx, created.ID)
	if err != nil {
		t.Fatalf("inspect: %v", err)
	}
	bindings := info.NetworkSettings.Ports["80/tcp"]
	if len(bindings) == 0 {
		t.Fatalf("no host port published for 80/tcp: %+v", info.NetworkSettings.Ports)
	}
	url := "http://127.0.0.1:" + bindings[0].HostPort + "/"
	var body string
	WaitFor(t, 20*time.Second, "berth/hello to answer on "+url, func() error {
		body, err = get(url, "smoke.example")
		return err
	})
	for _, want := range []string{"task: smoke.1", "host: smoke.example", "hostname: " + info.Config.Hostname} {
		if !strings.Contains(body, want) {
			t.Errorf("answer %q lacks %q", body, want)
		}
	}
	if err := cli.ContainerRemove(ctx, created.ID, container.RemoveOptions{Force: true}); err != nil {
		t.Fatalf("remove: %v", err)
	}
	if _, err := cli.ContainerInspect(ctx, created.ID); err == nil {
		t.Fatal("container still exists after remove")
	}
}

func TestSmokeConsulDNS(t *testing.T) {
	c := StartConsul(t)
	err := c.Client.Agent().ServiceRegister(&api.AgentServiceRegistration{
		ID: "smoke-web-1", Name: "smoke-web", Address: "127.0.0.1", Port: 31234,
	})
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	var port uint16
	WaitFor(t, 10*time.Second, "SRV smoke-web.service.consul", func() error {
		m := new(dns.Msg)
		m.SetQuestion("smoke-web.service.consul.", dns.TypeSRV)
		r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(m, c.DNSAddr)
		if err != nil {
			return err
		}
		for _, rr := range r.Answer {
			if srv, ok := rr.(*dns.SRV); ok {
				port = srv.Port
				return nil
			}
		}
		return fmt.Errorf("no SRV answer: %v", r)
	})
	if port != 31234 {
		t.Fatalf("SRV port = %d, want 31234", port)
	}
}

func TestSmokeZooKeeperEphemeral(t *testing.T) {
	z := StartZooKeeper(t)
	servers := []string{z.Addr}
	owner, _, err := zk.Connect(servers, 2*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Create("/smoke", []byte("hi"), zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		owner.Close()
		t.Fatalf("create ephemeral: %v", err)
	}
	observer, _, err := zk.Connect(servers, 2*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer observer.Close()
	data, _, err := observer.Get("/smoke")
	if err != nil || string(data) != "hi" {
		t.Fatalf("get /smoke = %q, %v; want \"hi\"", data, err)
	}
	owner.Close()
	WaitFor(t, 10*time.Second, "ephemeral /smoke to vanish with its session", func() error {
		ok, _, err := observer.Exists("/smoke")
		if err != nil {
			return err
		}
		if ok {
			return fmt.Errorf("/smoke still exists")
		}
		return nil
	})
}

func backend(t *testing.T, name string) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, name)
	}))
	t.Cleanup(s.Close)
	return s
}

func haproxyConfig(listen int, backendURL string) string {
	return fmt.Sprintf(`global
    maxconn 256
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend smoke
    bind 127.0.0.1:%d
    default_backend be
backend be
    server s1 %s
`, listen, strings.TrimPrefix(backendURL, "http://"))
}

func TestSmokeHAProxySeamlessReload(t *testing.T) {
	one, two := backend(t, "one"), backend(t, "two")
	port := FreePort(t)
	h := StartHAProxy(t, haproxyConfig(port, one.URL))
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	WaitFor(t, 10*time.Second, "haproxy to serve backend one", func() error {
		return expectBody(url, "one")
	})
	masterBefore := h.MasterPID()
	if err := h.WriteConfig(haproxyConfig(port, two.URL)); err != nil {
		t.Fatal(err)
	}
	if err := h.Reload(); err != nil {
		t.Fatalf("reload: %v\n%s", err, h.Process().LogTail())
	}
	if err := expectBody(url, "two"); err != nil {
		t.Fatalf("after reload: %v", err)
	}
	if h.MasterPID() != masterBefore || h.Process().Exited() {
		t.Fatalf("master pid changed from %d to %d: HAProxy was restarted, not reloaded", masterBefore, h.MasterPID())
	}
}

func TestSmokeNginx(t *testing.T) {
	one := backend(t, "one")
	port := FreePort(t)
	n := StartNginx(t, fmt.Sprintf("server { listen 127.0.0.1:%d; location / { return 200 'static'; } }", port))
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	WaitFor(t, 10*time.Second, "nginx to serve", func() error { return expectBody(url, "static") })
	master := n.MasterPID()
	conf := fmt.Sprintf("server { listen 127.0.0.1:%d; location / { proxy_pass %s; } }", port, one.URL)
	if err := n.WriteConfig(conf); err != nil { // runs nginx -t
		t.Fatal(err)
	}
	if err := n.WriteConfig("server { listen 127.0.0.1:1; bogus_directive; }"); err == nil {
		t.Fatal("nginx -t accepted a bogus config")
	}
	if err := n.Reload(); err != nil {
		t.Fatal(err)
	}
	WaitFor(t, 10*time.Second, "nginx to proxy after reload", func() error { return expectBody(url, "one") })
	if n.MasterPID() != master {
		t.Fatal("nginx master changed on reload")
	}
}

func expectBody(url, want string) error {
	body, err := get(url, "")
	if err != nil {
		return err
	}
	if body != want {
		return fmt.Errorf("body %q, want %q", body, want)
	}
	return nil
}

func TestFreePortNeverRepeats(t *testing.T) {
	seen := map[int]bool{}
	for range 50 {
		p := FreePort(t)
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		if p < freePortMin || p >= freePortMax {
			t.Fatalf("port %d outside [%d, %d)", p, freePortMin, freePortMax)
		}
		if reservePort(p) {
			t.Fatalf("port %d handed out but not reserved against other test binaries", p)
		}
		seen[p] = true
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("port %d not free: %v", p, err)
		}
		l.Close()
	}
}
