package lbsync

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

// echoBackend answers "<name> <path> <host>"; /go redirects to /login,
// /slow answers after 2 s.
func echoBackend(t *testing.T, name string) *backend {
	b := &backend{name: name}
	b.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/go":
			http.Redirect(w, r, "/login", http.StatusFound)
			return
		case "/slow":
			time.Sleep(2 * time.Second)
		}
		fmt.Fprintf(w, "%s %s %s", name, r.URL.Path, r.Host)
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(testenv.FreePort(t)))
	if err != nil {
		t.Fatal(err)
	}
	b.Listener.Close()
	b.Listener = ln
	b.Start()
	t.Cleanup(b.Close)
	return b
}

type result struct {
	code     int
	body     string
	location string
	hsts     string
	err      error
}

func do(addr, host, path string, mod func(*http.Request)) result {
	req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
	if host != "" {
		req.Host = host
	}
	if mod != nil {
		mod(req)
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{code: resp.StatusCode, body: string(b), location: resp.Header.Get("Location"),
		hsts: resp.Header.Get("Strict-Transport-Security")}
}

// TestLabelsChangeRequests: every marathon-lb label lbsync implements
// changes a real request through HAProxy.
func TestLabelsChangeRequests(t *testing.T) {
	h := startHarness(t, harnessOpts{})
	local := func(p int) string { return "127.0.0.1:" + strconv.Itoa(p) }
	front := local(h.httpPort)
	sp := func() int { return testenv.FreePort(t) }
	pPort, pBind, pBind2, pProxy, pAuth, pHeavy, pLight, pApp, pSite, pOff, pSlow, pBlue, pGreen, pTmpl :=
		sp(), sp(), sp(), sp(), sp(), sp(), sp(), sp(), sp(), sp(), sp(), sp(), sp(), sp()
	h.register("/port", pPort, echoBackend(t, "port"), "HAPROXY_0_PORT", strconv.Itoa(pBind))
	h.register("/bindaddr", pBind2, echoBackend(t, "bindaddr"), "HAPROXY_0_BIND_ADDR", "127.0.0.2")
	h.register("/proxyproto", pProxy, echoBackend(t, "proxyproto"), "HAPROXY_0_MODE", "http", "HAPROXY_0_BIND_OPTIONS", "accept-proxy")
	h.register("/auth", pAuth, echoBackend(t, "auth"), "HAPROXY_0_VHOST", "auth.test", "HAPROXY_0_AUTH", "berth:admin:"+testAuthHash,
		"HAPROXY_0_USE_HSTS", "true")
	h.register("/heavy", pHeavy, echoBackend(t, "heavy"), "HAPROXY_0_VHOST", "w.test", "HAPROXY_0_PATH", "/a", "HAPROXY_0_BACKEND_WEIGHT", "5")
	h.register("/light", pLight, echoBackend(t, "light"), "HAPROXY_0_VHOST", "w.test", "HAPROXY_0_PATH", "/a/b")
	h.register("/app", pApp, echoBackend(t, "app"), "HAPROXY_0_VHOST", "www.test", "HAPROXY_0_PATH", "/app",
		"HAPROXY_0_HTTP_BACKEND_PROXYPASS_PATH", "/app", "HAPROXY_0_HTTP_BACKEND_REVPROXY_PATH", "/app")
	h.register("/site", pSite, echoBackend(t, "site"), "HAPROXY_0_VHOST", "www.test", "HAPROXY_0_HTTP_BACKEND_REDIR", "/home.html")
	h.register("/off", pOff, echoBackend(t, "off"), "HAPROXY_0_ENABLED", "false")
	h.register("/slow", pSlow, echoBackend(t, "slow"), "HAPROXY_0_MODE", "http", "HAPROXY_0_TIMEOUT_SERVER", "500ms")
	h.register("/shop-blue", pBlue, echoBackend(t, "blue"), MetaDeploymentGroup, "shop", "HAPROXY_DEPLOYMENT_ALT_PORT", strconv.Itoa(pGreen))
	h.register("/shop-green", pGreen, echoBackend(t, "green"), MetaDeploymentGroup, "shop", "HAPROXY_DEPLOYMENT_ALT_PORT", strconv.Itoa(pBlue),
		"HAPROXY_0_PORT", strconv.Itoa(pBlue))
	h.register("/tmpl", pTmpl, echoBackend(t, "tmpl"), "HAPROXY_0_BACKEND_HEAD", "backend x\n  server evil 6.6.6.6:1")

	wait := func(what string, f func() error) { t.Helper(); testenv.WaitFor(t, 20*time.Second, what, f) }
	expect := func(what string, f func() (bool, string)) {
		t.Helper()
		wait(what, func() error {
			if ok, got := f(); !ok {
				return fmt.Errorf("got %s", got)
			}
			return nil
		})
	}
	show := func(r result) string {
		return fmt.Sprintf("%d %q loc=%q hsts=%q err=%v", r.code, r.body, r.location, r.hsts, r.err)
	}
	refused := func(addr string) bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	}

	expect("HAPROXY_0_PORT: the frontend binds the label's port, not the servicePort", func() (bool, string) {
		r := do(local(pBind), "", "/", nil)
		return r.code == 200 && strings.HasPrefix(r.body, "port ") && refused(local(pPort)), show(r)
	})
	expect("HAPROXY_0_BIND_ADDR: bound on 127.0.0.2 only", func() (bool, string) {
		r := do("127.0.0.2:"+strconv.Itoa(pBind2), "", "/", nil)
		return r.code == 200 && refused(local(pBind2)), show(r)
	})
	expect("HAPROXY_0_BIND_OPTIONS accept-proxy: a PROXY header is required", func() (bool, string) {
		plain := do(local(pProxy), "", "/", nil)
		c, err := net.DialTimeout("tcp", local(pProxy), time.Second)
		if err != nil {
			return false, err.Error()
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		fmt.Fprintf(c, "PROXY TCP4 10.9.9.9 127.0.0.1 5555 %d\r\nGET / HTTP/1.0\r\n\r\n", pProxy)
		status, _ := bufio.NewReader(c).ReadString('\n')
		return plain.err != nil && strings.Contains(status, "200"), show(plain) + " / with PROXY: " + status
	})
	expect("HAPROXY_0_AUTH: 401 without credentials, 200 with; HAPROXY_0_USE_HSTS header", func() (bool, string) {
		no := do(front, "auth.test", "/", nil)
		yes := do(front, "auth.test", "/", func(r *http.Request) { r.SetBasicAuth("admin", "s3cret") })
		bad := do(front, "auth.test", "/", func(r *http.Request) { r.SetBasicAuth("admin", "wrong") })
		return no.code == 401 && bad.code == 401 && yes.code == 200 && strings.HasPrefix(yes.hsts, "max-age=15768000"),
			show(no) + " / " + show(yes) + " / " + show(bad)
	})
	expect("HAPROXY_0_BACKEND_WEIGHT: the heavier /a rule wins over the longer /a/b", func() (bool, string) {
		r := do(front, "w.test", "/a/b/c", nil)
		return strings.HasPrefix(r.body, "heavy "), show(r)
	})
	expect("HAPROXY_0_HTTP_BACKEND_PROXYPASS_PATH strips /app; REVPROXY_PATH puts it back on Location", func() (bool, string) {
		r := do(front, "www.test", "/app/x", nil)
		loc := do(front, "www.test", "/app/go", nil)
		return r.body == "app /x www.test" && loc.code == 302 && loc.location == "/app/login", show(r) + " / " + show(loc)
	})
	expect("HAPROXY_0_HTTP_BACKEND_REDIR: / on the vhost redirects", func() (bool, string) {
		r := do(front, "www.test", "/", nil)
		other := do(front, "www.test", "/page", nil)
		return r.code == 301 && r.location == "/home.html" && strings.HasPrefix(other.body, "site /page"), show(r) + " / " + show(other)
	})
	expect("HAPROXY_0_TIMEOUT_SERVER 500ms: a 2 s answer is a 504", func() (bool, string) {
		r := do(local(pSlow), "", "/slow", nil)
		fast := do(local(pSlow), "", "/", nil)
		return r.code == 504 && fast.code == 200, show(r) + " / " + show(fast)
	})
	expect("blue/green: both colours behind the group's port", func() (bool, string) {
		got, err := seen(pBlue, "", 8)
		if err != nil {
			return false, err.Error()
		}
		blue, green := 0, 0
		for body, n := range got {
			blue += n * strings.Count(body, "blue ")
			green += n * strings.Count(body, "green ")
		}
		return blue > 0 && green > 0 && refused(local(pGreen)), fmt.Sprint(got)
	})
	if !refused(local(pOff)) {
		t.Errorf("HAPROXY_0_ENABLED=false: servicePort %d accepts connections", pOff)
	}
	st := h.syncer.Status()
	warned := false
	for _, w := range st.Warnings {
		warned = warned || strings.Contains(w, "HAPROXY_0_BACKEND_HEAD rejected: template overrides are raw HAProxy configuration")
	}
	if !warned {
		t.Errorf("no warning for the template override: %v", st.Warnings)
	}
	if r := do(local(pTmpl), "", "/", nil); r.err == nil && !strings.HasPrefix(r.body, "tmpl ") {
		t.Errorf("the app with a rejected template label is not served normally: %s", show(r))
	}
}
