package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

func jsonDecode(r io.Reader, out any) error { return json.NewDecoder(r).Decode(out) }

// authHash is crypt(3) SHA-512 of "s3cret" (marathon-lb's
// HAPROXY_{n}_AUTH takes realm:user:hash).
const authHash = "$6$berthsalt$4lRmfH01vZzypF5CCzr24v5M/STgnupX7OQcYet1gvsdPNY6gT3S751Etiv5dybG0fOsvoYavsUru1A2fk9x30"

type answer struct {
	code     int
	body     string
	location string
	hsts     string
	err      error
}

func (a answer) String() string {
	return fmt.Sprintf("%d %q loc=%q hsts=%q err=%v", a.code, a.body, a.location, a.hsts, a.err)
}

// ask sends one GET (no redirects followed, no keep-alive).
func ask(addr, host, path string, mod func(*http.Request)) answer {
	req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
	if host != "" {
		req.Host = host
	}
	if mod != nil {
		mod(req)
	}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{code: resp.StatusCode, body: string(b), location: resp.Header.Get("Location"),
		hsts: resp.Header.Get("Strict-Transport-Security")}
}

func refused(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
	}
	return err != nil
}

// testLabelRequests deploys berth/hello apps through the master, one per
// marathon-lb label (or pair), and shows each label's effect on a real
// request through HAProxy. berth/hello answers "task: …" and "path: …".
func testLabelRequests(t *testing.T, p *platform) {
	bindPort := testenv.FreePort(t)
	apps := []struct{ name, labels string }{
		{"port", fmt.Sprintf(`"HAPROXY_0_MODE": "http", "HAPROXY_0_PORT": "%d"`, bindPort)},
		{"bindaddr", `"HAPROXY_0_MODE": "http", "HAPROXY_0_BIND_ADDR": "127.0.0.2"`},
		{"proxyproto", `"HAPROXY_0_MODE": "http", "HAPROXY_0_BIND_OPTIONS": "accept-proxy"`},
		{"auth", `"HAPROXY_0_VHOST": "auth.e2e.test", "HAPROXY_0_AUTH": "berth:admin:` + authHash + `", "HAPROXY_0_USE_HSTS": "true"`},
		{"heavy", `"HAPROXY_0_VHOST": "w.e2e.test", "HAPROXY_0_PATH": "/a", "HAPROXY_0_BACKEND_WEIGHT": "5"`},
		{"light", `"HAPROXY_0_VHOST": "w.e2e.test", "HAPROXY_0_PATH": "/a/b"`},
		{"proxypass", `"HAPROXY_0_VHOST": "www.e2e.test", "HAPROXY_0_PATH": "/app", "HAPROXY_0_HTTP_BACKEND_PROXYPASS_PATH": "/app"`},
		{"redir", `"HAPROXY_0_VHOST": "www.e2e.test", "HAPROXY_0_HTTP_BACKEND_REDIR": "/home.html"`},
		{"off", `"HAPROXY_0_MODE": "http", "HAPROXY_0_ENABLED": "false"`},
		// A template override (raw HAProxy text) is rejected, the app served.
		{"tmpl", `"HAPROXY_0_MODE": "http", "HAPROXY_0_BACKEND_HEAD": "backend x\n  server evil 6.6.6.6:1"`},
	}
	sp := map[string]int{}
	for _, a := range apps {
		var created app
		p.mustAPI("POST", "/v2/apps", helloApp("/e2e/lbl/"+a.name, 1, a.labels), &created)
		sp[a.name] = created.servicePort()
	}
	// berth/hello never redirects; busybox httpd answers a directory
	// without its slash with "302 Location: /dir/", which is what
	// HAPROXY_0_HTTP_BACKEND_REVPROXY_PATH rewrites.
	apps = append(apps, struct{ name, labels string }{name: "revproxy"})
	p.mustAPI("POST", "/v2/apps", []byte(`{"id": "/e2e/lbl/revproxy", "cpus": 0.05, "mem": 16, "instances": 1,
		"cmd": "mkdir -p www/dir && echo \"rev $MESOS_TASK_ID\" > www/dir/index.html && exec busybox httpd -f -p $PORT0 -h www",
		"portDefinitions": [{"port": 0, "protocol": "tcp"}],
		"labels": {"HAPROXY_0_VHOST": "rev.e2e.test", "HAPROXY_0_PATH": "/app",
			"HAPROXY_0_HTTP_BACKEND_PROXYPASS_PATH": "/app", "HAPROXY_0_HTTP_BACKEND_REVPROXY_PATH": "/app"}}`), nil)
	var wg sync.WaitGroup
	for _, a := range apps {
		wg.Add(1)
		go func() { defer wg.Done(); p.waitSettled("/e2e/lbl/"+a.name, 1, settle) }()
	}
	wg.Wait()
	local := func(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }
	front := local(p.stack.Config().HTTPPort)
	task := func(name string) string { return "task: e2e_lbl_" + name + "." }
	cases := []struct {
		label string
		check func() (bool, string)
	}{
		{"HAPROXY_0_PORT: the frontend binds the label's port instead of the servicePort", func() (bool, string) {
			r := ask(local(bindPort), "", "/", nil)
			return r.code == 200 && strings.Contains(r.body, task("port")) && refused(local(sp["port"])), r.String()
		}},
		{"HAPROXY_0_BIND_ADDR: bound on 127.0.0.2 only", func() (bool, string) {
			r := ask("127.0.0.2:"+strconv.Itoa(sp["bindaddr"]), "", "/", nil)
			return r.code == 200 && strings.Contains(r.body, task("bindaddr")) && refused(local(sp["bindaddr"])), r.String()
		}},
		{"HAPROXY_0_BIND_OPTIONS accept-proxy: a request needs a PROXY header", func() (bool, string) {
			plain := ask(local(sp["proxyproto"]), "", "/", nil)
			c, err := net.DialTimeout("tcp", local(sp["proxyproto"]), time.Second)
			if err != nil {
				return false, err.Error()
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(3 * time.Second))
			fmt.Fprintf(c, "PROXY TCP4 10.9.9.9 127.0.0.1 5555 %d\r\nGET / HTTP/1.0\r\n\r\n", sp["proxyproto"])
			status, _ := bufio.NewReader(c).ReadString('\n')
			return plain.err != nil && strings.Contains(status, " 200 "), plain.String() + " / with PROXY: " + status
		}},
		{"HAPROXY_0_AUTH: 401 without or with wrong credentials, 200 with; HAPROXY_0_USE_HSTS adds the header", func() (bool, string) {
			no := ask(front, "auth.e2e.test", "/", nil)
			bad := ask(front, "auth.e2e.test", "/", func(r *http.Request) { r.SetBasicAuth("admin", "wrong") })
			yes := ask(front, "auth.e2e.test", "/", func(r *http.Request) { r.SetBasicAuth("admin", "s3cret") })
			return no.code == 401 && bad.code == 401 && yes.code == 200 && strings.Contains(yes.body, task("auth")) &&
				strings.HasPrefix(yes.hsts, "max-age="), no.String() + " / " + bad.String() + " / " + yes.String()
		}},
		{"HAPROXY_0_BACKEND_WEIGHT: the heavier /a rule wins over the longer /a/b", func() (bool, string) {
			r := ask(front, "w.e2e.test", "/a/b/c", nil)
			return strings.Contains(r.body, task("heavy")), r.String()
		}},
		{"HAPROXY_0_HTTP_BACKEND_PROXYPASS_PATH: /app is stripped before the backend", func() (bool, string) {
			r := ask(front, "www.e2e.test", "/app/x", nil)
			return r.code == 200 && strings.Contains(r.body, task("proxypass")) && strings.Contains(r.body, "path: /x\n"), r.String()
		}},
		{"HAPROXY_0_HTTP_BACKEND_REDIR: / on the vhost redirects, other paths are served", func() (bool, string) {
			r := ask(front, "www.e2e.test", "/", nil)
			other := ask(front, "www.e2e.test", "/page", nil)
			return r.code == 301 && r.location == "/home.html" && strings.Contains(other.body, task("redir")), r.String() + " / " + other.String()
		}},
		{"HAPROXY_0_HTTP_BACKEND_REVPROXY_PATH: the stripped /app is put back on the app's Location", func() (bool, string) {
			r := ask(front, "rev.e2e.test", "/app/dir", nil)
			page := ask(front, "rev.e2e.test", "/app/dir/", nil)
			return r.code == 302 && r.location == "/app/dir/" && page.code == 200 && strings.Contains(page.body, "rev e2e_lbl_revproxy."),
				r.String() + " / " + page.String()
		}},
		{"HAPROXY_0_BACKEND_HEAD (a template override): rejected with its reason in /routes and berth routes, the app served", func() (bool, string) {
			r := ask(local(sp["tmpl"]), "", "/", nil)
			warned := ""
			for _, w := range p.routesStatus(t).Warnings {
				if strings.Contains(w, "HAPROXY_0_BACKEND_HEAD rejected: template overrides") {
					warned = w
				}
			}
			out, err := exec.Command(testenv.BerthBinary(t), "routes", "--lbsync", p.stack.LBSyncURL).CombinedOutput()
			shown := err == nil && strings.Contains(string(out), "warning: ") && strings.Contains(string(out), "HAPROXY_0_BACKEND_HEAD rejected")
			return r.code == 200 && strings.Contains(r.body, task("tmpl")) && warned != "" && shown,
				fmt.Sprintf("%s; /routes warning %q; berth routes shows it: %v", r, warned, shown)
		}},
		{"HAPROXY_0_ENABLED false: the app runs but its servicePort is not bound", func() (bool, string) {
			st := p.routesStatus(t)
			disabled := false
			for _, e := range st.Unrouted {
				disabled = disabled || (e.App == "/e2e/lbl/off" && e.Kind == "disabled")
			}
			for _, s := range st.Services {
				for _, e := range s.Excluded {
					disabled = disabled || (s.ServicePort == sp["off"] && e.Kind == "disabled")
				}
			}
			return disabled && refused(local(sp["off"])), fmt.Sprintf("servicePort %d: excluded as disabled %v, unrouted %+v", sp["off"], disabled, st.Unrouted)
		}},
	}
	for _, c := range cases {
		t.Run(c.label, func(t *testing.T) {
			testenv.WaitFor(t, 30*time.Second, c.label, func() error {
				if ok, got := c.check(); !ok {
					return fmt.Errorf("got %s", got)
				}
				return nil
			})
		})
	}
	for _, a := range apps {
		p.mustAPI("DELETE", "/v2/apps/e2e/lbl/"+a.name, nil, nil)
	}
}
