package ui_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
	"github.com/chromedp/chromedp"
)

// browser is a headless Debian chromium driven by chromedp.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	shot string // screenshot directory
}

// chromiumPath finds the browser `make setup` installs.
func chromiumPath() (string, error) {
	var err error
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		var p string
		if p, err = exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", err
}

// screenshotDir is where the browser tests save a screenshot of every
// page: $BERTH_UI_SCREENSHOTS, or .build/ui-screenshots in the repo.
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("BERTH_UI_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(testenv.RepoRoot(t), ".build", "ui-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	path, err := chromiumPath()
	testenv.Need(t, "chromium", err)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.WindowSize(1280, 900))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelC(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium %s: %v", path, err)
	}
	return &browser{t: t, ctx: ctx, base: base, shot: screenshotDir(t)}
}

// run runs steps with a deadline and fails the test naming what failed.
func (b *browser) run(what string, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v\npage text:\n%s", what, err, b.text())
	}
}

// text is the page's visible text (for failure messages).
func (b *browser) text() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	return s
}

// settled waits (through the page's live updates, no reload) until the
// app page shows no deployment and n tasks, all healthy.
func (b *browser) settled(n int) {
	b.t.Helper()
	b.waitJS(fmt.Sprintf("%d healthy tasks and no deployment", n), fmt.Sprintf(
		`document.querySelector("#dep-list .deployment") === null && document.querySelectorAll("#task-list tbody tr").length === %d &&
		document.querySelectorAll("#task-list td.hc.h").length === %d`, n, n), 60*time.Second)
}

// noAlert fails the test when the page shows an error message.
func (b *browser) noAlert(what string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("main .alert").length`))
	if err != nil || n > 0 {
		b.t.Fatalf("%s: the page shows an error (%v):\n%s", what, err, b.text())
	}
}

func (b *browser) value(sel string) (string, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Value(chromedp.CSS(sel)))
}

func (b *browser) textOf(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v\npage text:\n%s", sel, err, b.text())
	}
	return s
}

// waitJS waits until the JavaScript expression is true.
func (b *browser) waitJS(what, expr string, timeout time.Duration) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		b.t.Fatalf("waiting for %s (%s): %v\npage text:\n%s", what, expr, err, b.text())
	}
}

// checkLabels fails the test when a visible form control has no label.
func (b *browser) checkLabels(page string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	unlabelled, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll(
		"input:not([type=hidden]), select, textarea")].filter(e => e.labels.length === 0 && !e.getAttribute("aria-label"))
		.map(e => e.outerHTML)`))
	if err != nil {
		b.t.Fatalf("%s: checking labels: %v", page, err)
	}
	if len(unlabelled) > 0 {
		b.t.Fatalf("%s: form controls without a label: %v", page, unlabelled)
	}
}

// submit clicks sel (a button that submits a form) and waits for the
// page the submission leads to.
func (b *browser) submit(what string, sel chromedp.CSS) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__berthOld = true`))
	cancel()
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	b.run(what, 10*time.Second, chromedp.Click(sel))
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__berthOld === undefined && document.readyState === "complete"`))
		cancel()
		if err == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.t.Fatalf("%s: no new page after 30s\npage text:\n%s", what, b.text())
}

// screenshot saves the page as name.png, after checking that every
// form control of the page has a label (its own, or aria-label).
func (b *browser) screenshot(name string) {
	b.t.Helper()
	b.checkLabels(name)
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shot, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// fitsWidth fails the test when the page scrolls sideways (something
// wider than the viewport that no table container holds).
func (b *browser) fitsWidth(page string) {
	b.t.Helper()
	b.waitJS(page+" no wider than the viewport", `document.documentElement.scrollWidth <= window.innerWidth`, 5*time.Second)
}

// viewportShot saves only the top width×height of the page (for the
// README), then restores the desktop viewport.
func (b *browser) viewportShot(name string, width, height int64) {
	b.t.Helper()
	b.run("viewport", 10*time.Second, chromedp.EmulateViewport(width, height))
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shot, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.run("desktop width", 10*time.Second, chromedp.EmulateViewport(1280, 900))
}

func (b *browser) open(path string) {
	b.t.Helper()
	b.run("open "+path, 20*time.Second, chromedp.Navigate(b.base+path), chromedp.WaitReady(chromedp.CSS("body")))
}

const testCmd = `echo hello-from-ui-test; echo oops >&2; echo ok > index.html; ` +
	`(i=0; while sleep 0.2; do i=$((i+1)); echo tick-$i; done) & exec busybox httpd -f -p $PORT0 -h "$PWD"`

// TestBrowser drives the console in Debian's chromium against a real
// master and agent: create an app with the form, see it Running and
// healthy, scale it to 3 and back, read a task's output, destroy it; an
// invalid form shows the API's error beside the field; an unknown app is
// a clean 404.
func TestBrowser(t *testing.T) {
	if _, err := exec.LookPath("busybox"); err != nil {
		testenv.Need(t, "busybox", err)
	}
	s := startStack(t, stackOpts{})
	b := newBrowser(t, s.url)

	b.open("/")
	b.waitJS("the apps page", `location.pathname === "/ui/apps"`, 10*time.Second)
	b.screenshot("apps-empty")
	// Keyboard: the first Tab reaches the skip link, Enter moves to the content.
	b.run("tab to the skip link", 10*time.Second, chromedp.KeyEvent("\t"))
	b.waitJS("the skip link focused", `document.activeElement.className === "skip"`, 5*time.Second)

	// Create an app with the form.
	b.open("/ui/new")
	b.run("fill the create form", 20*time.Second,
		chromedp.SetValue(chromedp.CSS("#id"), "/ui-test/web"),
		chromedp.SetValue(chromedp.CSS("#cmd"), testCmd),
		chromedp.SetValue(chromedp.CSS("#cpus"), "0.1"),
		chromedp.SetValue(chromedp.CSS("#mem"), "32"),
		chromedp.Click(chromedp.CSS(`input[name=network][value=host]`)),
		chromedp.SetValue(chromedp.CSS(`input[name="port.0.service"]`), "0"),
		chromedp.SetValue(chromedp.CSS(`input[name="port.0.name"]`), "http"),
		chromedp.SetValue(chromedp.CSS("#labels"), "HAPROXY_GROUP=external\nteam=ui\n"),
		chromedp.SetValue(chromedp.CSS(`select[name="hc.protocol"]`), "HTTP"),
		chromedp.SetValue(chromedp.CSS(`input[name="hc.path"]`), "/index.html"),
		chromedp.SetValue(chromedp.CSS(`input[name="hc.portIndex"]`), "0"),
		chromedp.SetValue(chromedp.CSS(`input[name="hc.grace"]`), "30"),
		chromedp.SetValue(chromedp.CSS(`input[name="hc.interval"]`), "1"),
		chromedp.SetValue(chromedp.CSS(`input[name="hc.timeout"]`), "1"),
	)
	b.screenshot("create-form")
	b.submit("submit the create form", `button[name=mode][value=save]`)
	if got := b.textOf(".notice"); !strings.Contains(got, "Created /ui-test/web") {
		t.Fatalf("notice after create = %q", got)
	}
	// Running and healthy, seen through the live update (no reload).
	b.settled(1)
	if got := b.textOf("#summary .st"); got != "Running" {
		t.Fatalf("status %q, want Running", got)
	}
	b.screenshot("app-running")

	// Scale to 3 and back to 1.
	b.run("set 3 instances", 10*time.Second, chromedp.SetValue(chromedp.CSS("#instances"), "3"))
	b.submit("scale to 3", "form.scale button")
	b.settled(3)
	b.screenshot("app-scaled-3")
	b.viewportShot("readme", 1100, 640)
	b.run("set 1 instance", 10*time.Second, chromedp.SetValue(chromedp.CSS("#instances"), "1"))
	b.submit("scale to 1", "form.scale button")
	b.settled(1)

	// Edit it with the form (switching to JSON and back keeps the
	// document), see the diff of the two versions, apply the older one.
	b.open("/ui/edit/ui-test/web")
	b.screenshot("edit-form")
	b.submit("switch to JSON", `button[name=mode][value=to-json]`)
	if got, err := b.value("#json"); err != nil || !strings.Contains(got, `"id": "/ui-test/web"`) {
		t.Fatalf("JSON mode shows %q %v", got, err)
	}
	b.screenshot("edit-form-json")
	b.submit("switch back to the form", `button[name=mode][value=to-form]`)
	b.run("add a label", 10*time.Second, chromedp.SetValue(chromedp.CSS("#labels"), "HAPROXY_GROUP=external\nteam=ui\ntier=web\n"))
	b.submit("save the edit", `button[name=mode][value=save]`)
	if got := b.textOf(".notice"); !strings.Contains(got, "Saved /ui-test/web") {
		t.Fatalf("notice after edit = %q", got)
	}
	if got := b.textOf("pre.diff"); !strings.Contains(got, `+     "tier": "web"`) {
		t.Fatalf("diff of the edit = %q", got)
	}
	b.screenshot("app-diff")
	b.waitJS("the edit's deployment done", `document.querySelector("#dep-list .deployment") === null &&
		document.querySelectorAll("#task-list td.hc.h").length === 1 && document.querySelectorAll("#task-list tbody tr").length === 1`, 60*time.Second)
	b.submit("apply the previous version", `#versions button[form^="apply-"]`)
	b.noAlert("apply the previous version")
	if got := b.textOf(".notice"); !strings.Contains(got, "Applying version") {
		t.Fatalf("notice after apply = %q", got)
	}
	b.waitJS("the label gone again and the deployment done", `!document.querySelector("#summary .labels").textContent.includes("tier=web") &&
		document.querySelector("#dep-list .deployment") === null && document.querySelectorAll("#task-list td.hc.h").length === 1`, 60*time.Second)

	// Kill & scale: the selected task goes and the app has one instance less.
	b.run("set 2 instances", 10*time.Second, chromedp.SetValue(chromedp.CSS("#instances"), "2"))
	b.submit("scale to 2", "form.scale button")
	b.noAlert("scale to 2")
	b.settled(2)
	b.run("select a task", 10*time.Second, chromedp.Click(chromedp.CSS(`#task-list input[name=task]`)))
	b.submit("kill and scale", `#task-list button[name=scale][value=true]`)
	b.noAlert("kill and scale")
	b.waitJS("one task after kill & scale", `document.querySelectorAll("#task-list tbody tr").length === 1 &&
		document.getElementById("instances").value === "1"`, 60*time.Second)

	// The apps list shows it Running with its label filter.
	b.open("/ui/apps?label=team%3Dui")
	b.waitJS("the app in the list", `document.querySelector("table.apps td.st").textContent === "Running"`, 30*time.Second)
	b.screenshot("apps")
	// First paint takes the page, its stylesheet and its script: three
	// requests (the favicon is inline; the event stream comes after).
	b.waitJS("the page's subresources counted", `performance.getEntriesByType("resource").filter(
		e => ["link", "script", "img", "css"].includes(e.initiatorType)).length === 2`, 5*time.Second)
	b.run("phone width", 10*time.Second, chromedp.EmulateViewport(390, 844))
	b.open("/ui/apps")
	b.fitsWidth("apps (phone)")
	b.screenshot("apps-phone")
	b.open("/ui/apps/ui-test/web")
	b.fitsWidth("app (phone)")
	b.screenshot("app-phone")
	b.run("desktop width", 10*time.Second, chromedp.EmulateViewport(1280, 900))

	// A task's output.
	b.open("/ui/apps/ui-test/web")
	b.submit("open the task's stdout", `#task-list a[href$="stream=stdout"]`)
	if got := b.textOf("#log"); !strings.Contains(got, "hello-from-ui-test") {
		t.Fatalf("stdout shows %q, want hello-from-ui-test", got)
	}
	// Follow: the output written after the page was rendered appears.
	before := b.textOf("#log")
	b.run("follow", 10*time.Second, chromedp.Click(chromedp.CSS("#follow")))
	b.waitJS("followed output", `document.getElementById("log").textContent.length > `+strconv.Itoa(len(before)+40), 20*time.Second)
	b.run("stop following", 10*time.Second, chromedp.Click(chromedp.CSS("#follow")))
	b.screenshot("sandbox")
	// Download: the whole stream as an attachment.
	ctxD, cancelD := context.WithTimeout(b.ctx, 10*time.Second)
	href, err := chromedp.Run(ctxD, chromedp.Evaluate[string](`document.querySelector("a[download]").href`))
	cancelD()
	if err != nil {
		t.Fatal(err)
	}
	dlResp, err := http.Get(href)
	if err != nil {
		t.Fatal(err)
	}
	dl, _ := io.ReadAll(dlResp.Body)
	dlResp.Body.Close()
	if cd := dlResp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") || !strings.HasPrefix(string(dl), "hello-from-ui-test\n") {
		t.Fatalf("download %s: %q %.100q", href, cd, dl)
	}
	b.open("/ui/groups")
	if got := b.textOf("#groups"); !strings.Contains(got, "ui-test") || !strings.Contains(got, "/ui-test/web") {
		t.Fatalf("groups page shows %q", got)
	}
	b.screenshot("groups")
	b.open("/ui/tasks")
	b.screenshot("tasks")
	b.open("/ui/agents")
	if got := b.textOf("#agents"); !strings.Contains(got, "ui-agent") || !strings.Contains(got, "rack=r1") {
		t.Fatalf("agents page shows %q", got)
	}
	b.screenshot("agents")
	b.open("/ui/cluster")
	b.screenshot("cluster")
	b.open("/ui/routes")
	b.screenshot("routes")
	b.open("/ui/deployments")
	b.screenshot("deployments")

	// Destroy it, with the typed confirmation.
	b.open("/ui/apps/ui-test/web")
	b.run("type the confirmation", 10*time.Second, chromedp.SetValue(chromedp.CSS("#confirm"), "/ui-test/web"))
	b.submit("destroy", "button.danger")
	if got := b.textOf(".notice"); !strings.Contains(got, "Destroying /ui-test/web") {
		t.Fatalf("notice after destroy = %q", got)
	}
	b.waitJS("the app gone", `location.pathname === "/ui/apps" && document.querySelector("table.apps") === null`, 60*time.Second)

	// The API's validation error beside the field it names.
	b.open("/ui/new")
	b.run("fill an invalid form", 20*time.Second,
		chromedp.SetValue(chromedp.CSS("#id"), "/bad"),
		chromedp.SetValue(chromedp.CSS("#cmd"), "sleep 1000"),
		chromedp.SetValue(chromedp.CSS("#cpus"), "-1"))
	b.submit("submit an invalid form", `button[name=mode][value=save]`)
	if got := b.textOf("#err-cpus"); !strings.Contains(got, "expected 0.0 or more") {
		t.Fatalf("error beside cpus = %q", got)
	}
	b.waitJS("cpus marked invalid", `document.getElementById("cpus").getAttribute("aria-invalid") === "true"`, 5*time.Second)
	b.screenshot("create-form-invalid")

	// An unknown app is a clean 404 page.
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(s.url+"/ui/apps/no/such/app"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 404 {
		t.Fatalf("unknown app: status %d, want 404", resp.Status)
	}
	if got := b.textOf("main"); !strings.Contains(got, "does not exist") {
		t.Fatalf("404 page says %q", got)
	}
	b.screenshot("not-found")
}

// TestBrowserDockerApp creates a Docker app in bridge mode with a port
// mapping through the form, sees it healthy, reaches it on its host port
// and destroys it.
func TestBrowserDockerApp(t *testing.T) {
	testenv.Image(t, "berth/hello")
	testenv.CleanupContainers(t, testenv.Docker(t), "berth.app-id", "/ui-docker/web")
	s := startStack(t, stackOpts{docker: true})
	b := newBrowser(t, s.url)
	b.open("/ui/new")
	b.run("fill the create form", 20*time.Second,
		chromedp.SetValue(chromedp.CSS("#id"), "/ui-docker/web"),
		chromedp.SetValue(chromedp.CSS("#image"), "berth/hello"),
		chromedp.SetValue(chromedp.CSS("#mem"), "32"),
		chromedp.Click(chromedp.CSS(`input[name=network][value="container/bridge"]`)),
		chromedp.SetValue(chromedp.CSS(`input[name="port.0.container"]`), "80"),
		chromedp.SetValue(chromedp.CSS(`input[name="port.0.host"]`), "0"),
		chromedp.SetValue(chromedp.CSS(`input[name="port.0.name"]`), "http"),
		chromedp.SetValue(chromedp.CSS(`select[name="hc.protocol"]`), "HTTP"),
		chromedp.SetValue(chromedp.CSS(`input[name="hc.path"]`), "/health"),
		chromedp.SetValue(chromedp.CSS(`input[name="hc.portIndex"]`), "0"),
		chromedp.SetValue(chromedp.CSS(`input[name="hc.interval"]`), "1"),
		chromedp.SetValue(chromedp.CSS(`input[name="hc.timeout"]`), "1"),
	)
	b.submit("create", `button[name=mode][value=save]`)
	b.noAlert("create")
	b.settled(1)
	b.screenshot("app-docker")
	hostPort := b.textOf("#task-list tbody td:nth-child(4)")
	_, port, ok := strings.Cut(strings.TrimSpace(hostPort), ":")
	if !ok {
		t.Fatalf("host:ports cell %q", hostPort)
	}
	resp, err := http.Get("http://127.0.0.1:" + port + "/")
	if err != nil {
		t.Fatalf("the container on its host port %s: %v", port, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the container on its host port %s: %d", port, resp.StatusCode)
	}
	b.run("type the confirmation", 10*time.Second, chromedp.SetValue(chromedp.CSS("#confirm"), "/ui-docker/web"))
	b.submit("destroy", "button.danger")
	b.noAlert("destroy")
}
