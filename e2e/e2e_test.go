package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/miekg/dns"

	"github.com/berth-platform/berth/internal/testenv"
)

const settle = 90 * time.Second

// TestPlatform starts the platform once and walks the user's path: every
// example deployed and checked, scale, rolling restart, agent loss,
// destroy. The subtests run in order and build on each other.
func TestPlatform(t *testing.T) {
	p := startPlatform(t)
	ok := t.Run("examples", func(t *testing.T) { p.t = t; testExamples(t, p) })
	ok = ok && t.Run("scale 1→5→1", func(t *testing.T) { p.t = t; testScale(t, p) })
	ok = ok && t.Run("rolling restart", func(t *testing.T) { p.t = t; testRollingRestart(t, p) })
	ok = ok && t.Run("agent lost", func(t *testing.T) { p.t = t; testAgentLost(t, p) })
	ok = ok && t.Run("destroy", func(t *testing.T) { p.t = t; testDestroy(t, p) })
	if !ok {
		t.Log("a step failed; the later steps depend on it and did not run")
	}
}

func testExamples(t *testing.T, p *platform) {
	names := []string{"date-printer", "kv", "unique", "rack", "web", "fixed-ports", "host-volume",
		"host-port-process", "tomcat-style", "nginx-backend"}
	// The host-volume example writes here; a file from an earlier run
	// must not count.
	volume := filepath.Join("/tmp/berth-example-volume", "dates.log")
	if err := os.Remove(volume); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	// POST them all first: placement and starts overlap, as for a user.
	for _, n := range names {
		p.mustAPI("POST", "/v2/apps", p.example(n), nil)
	}
	apps := map[string]app{}
	for _, n := range names {
		id := "/examples/" + n
		a, err := p.app(id)
		if err != nil {
			t.Fatal(err)
		}
		apps[n] = p.waitSettled(id, a.Instances, settle)
	}

	t.Run("unique: one per agent", func(t *testing.T) {
		h := hostsOf(apps["unique"])
		if len(h) != 3 || h["agent-1"] != 1 || h["agent-2"] != 1 || h["agent-3"] != 1 {
			t.Errorf("placement %v, want one task on each of agent-1…3", h)
		}
	})
	t.Run("rack: only rack agents", func(t *testing.T) {
		h := hostsOf(apps["rack"])
		if h["agent-1"] != 0 || h["agent-2"]+h["agent-3"] != 4 {
			t.Errorf("placement %v, want 4 tasks on agent-2 and agent-3 only", h)
		}
	})
	t.Run("fixed ports on agent-1", func(t *testing.T) {
		a := apps["fixed-ports"]
		if len(a.Tasks) != 1 || a.Tasks[0].Host != "agent-1" || fmt.Sprint(a.Tasks[0].Ports) != "[31030]" {
			t.Fatalf("tasks %+v, want one on agent-1 with host port 31030", a.Tasks)
		}
		if a.servicePort() != 13180 {
			t.Errorf("servicePort %d, want 13180", a.servicePort())
		}
		p.waitServes(p.servicePortURL(13180, "/"), "", "task: "+a.Tasks[0].ID)
	})
	t.Run("servicePorts through HAProxy", func(t *testing.T) {
		for _, n := range []string{"unique", "rack", "web", "kv", "nginx-backend"} {
			p.waitRoutesMatch("/examples/" + n)
			p.waitServes(p.servicePortURL(apps[n].servicePort(), "/"), "", "task: examples_"+n+".")
		}
		body := p.waitServes(p.servicePortURL(apps["tomcat-style"].servicePort(), "/index.html"), "", "Connector port=")
		if want := fmt.Sprintf("port=%q", strconv.Itoa(apps["tomcat-style"].Tasks[0].Ports[0])); !strings.Contains(body, want) {
			t.Errorf("tomcat-style's server.xml %q does not name its assigned port (%s)", body, want)
		}
	})
	t.Run("kv store", func(t *testing.T) {
		url := p.servicePortURL(apps["kv"].servicePort(), "/kv/greeting")
		req, _ := newRequest("PUT", url, "hello berth")
		resp, err := p.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		p.waitServes(url, "", "hello berth")
	})
	t.Run("vhost on the HTTP port", func(t *testing.T) {
		url := "http://" + httpAddr(p.stack.Config().HTTPPort) + "/"
		p.waitServes(url, "web.berth.local", "host: web.berth.local")
		if _, err := p.get(url, "nope.berth.local"); err == nil {
			t.Error("an unknown Host was served")
		}
	})
	t.Run("Consul DNS A and SRV", func(t *testing.T) {
		for _, n := range []string{"web", "kv"} {
			a := apps[n]
			var want []string
			for _, tk := range a.Tasks {
				want = append(want, strconv.Itoa(tk.Ports[0]))
			}
			testenv.WaitFor(t, 30*time.Second, n+".service.consul SRV", func() error {
				return checkDNS(p, n+".service.consul.", want)
			})
		}
	})
	t.Run("classic nginx template", func(t *testing.T) {
		url := "http://" + httpAddr(p.stack.Config().ClassicPort) + "/"
		p.waitServes(url, "", "task: examples_nginx-backend.")
	})
	t.Run("host volume", func(t *testing.T) {
		testenv.WaitFor(t, 30*time.Second, "the container writing "+volume, func() error {
			b, err := os.ReadFile(volume)
			if err != nil {
				return err
			}
			if !strings.Contains(string(b), "T") {
				return fmt.Errorf("%q", b)
			}
			return nil
		})
	})
	t.Run("process on $PORT0", func(t *testing.T) {
		tk := apps["host-port-process"].Tasks[0]
		url := "http://" + net.JoinHostPort(p.stack.AdvertiseIP, strconv.Itoa(tk.Ports[0])) + "/"
		p.waitServes(url, "", "hello from "+tk.Host+":"+strconv.Itoa(tk.Ports[0]))
	})
}

// checkDNS asks Consul DNS for A and SRV records of name: every port in
// want must be in the SRV answer, and A must answer the tasks' address.
func checkDNS(p *platform, name string, want []string) error {
	c := new(dns.Client)
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeSRV)
	r, _, err := c.Exchange(m, p.stack.ConsulDNS)
	if err != nil {
		return err
	}
	var got []string
	for _, rr := range r.Answer {
		if srv, ok := rr.(*dns.SRV); ok {
			got = append(got, strconv.Itoa(int(srv.Port)))
		}
	}
	// Every task is in the answer (other tests' containers on this Docker
	// engine may add instances of the same name).
	for _, w := range want {
		if !contains(got, w) {
			return fmt.Errorf("SRV ports %v, want %v", got, want)
		}
	}
	m = new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	r, _, err = c.Exchange(m, p.stack.ConsulDNS)
	if err != nil {
		return err
	}
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok && a.A.String() == p.stack.AdvertiseIP {
			return nil
		}
	}
	return fmt.Errorf("A answer %v, want %s", r.Answer, p.stack.AdvertiseIP)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func testScale(t *testing.T, p *platform) {
	id := "/examples/date-printer"
	for _, n := range []int{5, 1} {
		p.mustAPI("PUT", "/v2/apps"+id, []byte(fmt.Sprintf(`{"instances":%d}`, n)), nil)
		p.waitSettled(id, n, settle)
		testenv.WaitFor(t, 30*time.Second, fmt.Sprintf("%d date-printer containers", n), func() error {
			if got := p.containers(id); got != n {
				return fmt.Errorf("%d containers", got)
			}
			return nil
		})
	}
}

// containers counts the running containers of app id.
func (p *platform) containers(id string) int {
	cli := testenv.Docker(p.t)
	list, err := cli.ContainerList(context.Background(), container.ListOptions{
		Filters: filters.NewArgs(filters.Arg("label", "berth.app-id="+id))})
	if err != nil {
		p.t.Fatal(err)
	}
	return len(list)
}

func testRollingRestart(t *testing.T, p *platform) {
	id := "/examples/web"
	before, err := p.app(id)
	if err != nil {
		t.Fatal(err)
	}
	p.mustAPI("POST", "/v2/apps"+id+"/restart", nil, nil)
	// During the restart the app keeps serving through its servicePort.
	url := p.servicePortURL(before.servicePort(), "/")
	var after app
	var failures []string
	testenv.WaitFor(t, settle, "web restarted with new tasks", func() error {
		if _, err := p.get(url, ""); err != nil {
			failures = append(failures, time.Now().Format("15:04:05.000")+" "+err.Error())
		}
		var err error
		if after, err = p.app(id); err != nil {
			return err
		}
		if len(after.Deployments) > 0 || after.TasksHealthy != 2 || len(after.Tasks) != 2 {
			return fmt.Errorf("%d deployments, %d tasks, %d healthy", len(after.Deployments), len(after.Tasks), after.TasksHealthy)
		}
		for _, a := range after.Tasks {
			for _, b := range before.Tasks {
				if a.ID == b.ID {
					return fmt.Errorf("task %s not replaced yet", a.ID)
				}
			}
		}
		return nil
	})
	// Zero failures relies on the agent's drain waiting for a replacement
	// to pass in Consul (agent.ConsulDrainerConfig.Handover): without it
	// the old tasks could be drained while no new one was routable yet.
	if len(failures) > 0 {
		t.Errorf("%d requests through the servicePort failed during the rolling restart: %v", len(failures), failures)
	}
	p.waitRoutesMatch(id)
	p.waitServes(url, "", "task: examples_web.")
}

func testAgentLost(t *testing.T, p *platform) {
	ctx := context.Background()
	if err := p.stack.KillAgent(ctx, 3); err != nil {
		t.Fatal(err)
	}
	// rack's tasks on agent-3 move to agent-2, the only other rack agent.
	testenv.WaitFor(t, settle, "rack's tasks replaced on agent-2", func() error {
		a, err := p.app("/examples/rack")
		if err != nil {
			return err
		}
		h := hostsOf(a)
		if h["agent-2"] != 4 || a.TasksRunning != 4 || len(a.Tasks) != 4 {
			return fmt.Errorf("placement %v, %d running", h, a.TasksRunning)
		}
		return nil
	})
	p.waitRoutesMatch("/examples/rack")
	a, _ := p.app("/examples/rack")
	p.waitServes(p.servicePortURL(a.servicePort(), "/"), "", "task: examples_rack.")
	// UNIQUE cannot place its third instance until agent-3 is back.
	testenv.WaitFor(t, settle, "unique down to agent-1 and agent-2", func() error {
		a, err := p.app("/examples/unique")
		if err != nil {
			return err
		}
		if h := hostsOf(a); h["agent-3"] != 0 || a.TasksRunning != 2 {
			return fmt.Errorf("placement %v, %d running", h, a.TasksRunning)
		}
		return nil
	})
	if _, err := p.stack.StartAgent(ctx, 3); err != nil {
		t.Fatal(err)
	}
	a = p.waitSettled("/examples/unique", 3, settle)
	if h := hostsOf(a); len(h) != 3 {
		t.Errorf("unique after agent-3 returned: %v", h)
	}
	p.waitRoutesMatch("/examples/unique")
}

func testDestroy(t *testing.T, p *platform) {
	id := "/examples/web"
	a, err := p.app(id)
	if err != nil {
		t.Fatal(err)
	}
	p.mustAPI("DELETE", "/v2/apps"+id, nil, nil)
	testenv.WaitFor(t, settle, "web's containers gone", func() error {
		if n := p.containers(id); n != 0 {
			return fmt.Errorf("%d containers", n)
		}
		return nil
	})
	var ports []string
	for _, tk := range a.Tasks {
		ports = append(ports, strconv.Itoa(tk.Ports[0]))
	}
	testenv.WaitFor(t, 30*time.Second, "web's instances gone from Consul", func() error {
		c := new(dns.Client)
		m := new(dns.Msg)
		m.SetQuestion("web.service.consul.", dns.TypeSRV)
		r, _, err := c.Exchange(m, p.stack.ConsulDNS)
		if err != nil {
			return err
		}
		for _, rr := range r.Answer {
			if srv, ok := rr.(*dns.SRV); ok && contains(ports, strconv.Itoa(int(srv.Port))) {
				return fmt.Errorf("still in SRV: %v", srv)
			}
		}
		return nil
	})
	testenv.WaitFor(t, 30*time.Second, "web's routes gone", func() error {
		b, err := p.backends(a.servicePort())
		if err != nil {
			return err
		}
		if len(b) > 0 {
			return fmt.Errorf("backends %v", b)
		}
		if _, err := p.get("http://"+httpAddr(p.stack.Config().HTTPPort)+"/", "web.berth.local"); err == nil {
			return fmt.Errorf("web.berth.local still served")
		}
		return nil
	})
}
