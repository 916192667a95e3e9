package ui_test

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/jobs"
	"github.com/chromedp/chromedp"
)

// TestBrowserJobs drives the jobs pages in chromium against a real master
// and agent (process containerizer) with the example capacity queues: add
// a job and a dependent job with the ADD JOB form, press Run, see the run
// succeed in the job's history through the live update (no reload), its
// stdout through the log link, the dependent job run after it, the jobs
// list's API state and queue, the queues' used share, and the API's error
// beside the field it names.
func TestBrowserJobs(t *testing.T) {
	if _, err := exec.LookPath("busybox"); err != nil {
		testenv.Need(t, "busybox", err)
	}
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "examples", "jobs", "queues.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tree, err := jobs.ParseQueues(data)
	if err != nil {
		t.Fatal(err)
	}
	s := startStack(t, stackOpts{jobQueues: tree})
	b := newBrowser(t, s.url)
	b.addJobsWithTheForm()
	b.runJob()
	b.jobsListAndQueues(s)
	b.editJobInvalid()
}

// addJobsWithTheForm adds ui-extract (scheduled in 2030: it runs only
// when asked) and ui-load (after ui-extract) with the ADD JOB form.
func (b *browser) addJobsWithTheForm() {
	t := b.t
	t.Helper()
	b.open("/ui/jobs")
	if got := b.textOf("main"); !strings.Contains(got, "No jobs") {
		t.Fatalf("empty jobs page says %q", got)
	}
	b.screenshot("jobs-empty")

	b.open("/ui/jobs/new")
	b.addJob("ui-extract", `echo job-out-$CHRONOS_JOB_NAME; echo job-err >&2; sleep 2`, "R/2030-01-01T00:00:00Z/P1D", "", "q11")
	b.screenshot("jobform")
	b.submit("add ui-extract", `button[name=mode][value=save]`)
	b.noAlert("add ui-extract")
	if got := b.textOf(".notice"); !strings.Contains(got, "Saved job ui-extract") {
		t.Fatalf("notice after adding = %q", got)
	}
	// A dependent job, through the form too.
	b.open("/ui/jobs/new")
	b.addJob("ui-load", "echo loaded", "", "ui-extract", "q12")
	b.submit("add ui-load", `button[name=mode][value=save]`)
	b.noAlert("add ui-load")
}

// runJob presses Run on ui-extract's page and sees, without a reload, the
// run running, then successful, and ui-load succeed after it; the run's
// stdout link opens its output.
func (b *browser) runJob() {
	t := b.t
	t.Helper()
	b.open("/ui/jobs/ui-extract")
	b.submit("run ui-extract", `.actions button.primary`)
	b.noAlert("run ui-extract")
	if got := b.textOf(".notice"); !strings.Contains(got, "Started a run of ui-extract") {
		t.Fatalf("notice after Run = %q", got)
	}
	b.waitJS("the run running (live)", `document.querySelector("#runs td.rs.running") !== null &&
		document.querySelector("#job-head .js").textContent === "running"`, 30*time.Second)
	b.screenshot("job-running")
	b.waitJS("the run's success in the history (live)", `
		[...document.querySelectorAll("#runs td.rs")].some(td => td.textContent.startsWith("success")) &&
		document.querySelector("#job-head .jr").textContent.includes("success")`, 60*time.Second)
	b.waitJS("the dependent job's success in the graph (live)",
		`document.querySelector('#graph a[href="/ui/jobs/ui-load"] rect.success') !== null`, 60*time.Second)
	if got := b.textOf("#graph"); !strings.Contains(got, "ui-extract") || !strings.Contains(got, "ui-load") {
		t.Fatalf("the job's dependency graph shows %q", got)
	}
	b.waitJS("the job marked in its graph", `document.querySelector('#graph a[aria-current=page] rect.cur') !== null`, 5*time.Second)
	b.screenshot("job")

	// The run's log link opens its sandbox: the job's stdout.
	b.submit("open the run's stdout", `#runs a[href$="stream=stdout"]`)
	if got := b.textOf("#log"); !strings.Contains(got, "job-out-ui-extract") {
		t.Fatalf("the run's stdout shows %q, want job-out-ui-extract", got)
	}
	b.screenshot("job-run-stdout")
}

// jobsListAndQueues checks the list (state, queue, counts, also at phone
// width), the queues' tree and used share with a run in flight, the
// tasks page with job tasks, and deleting a job kills its run.
func (b *browser) jobsListAndQueues(s *stack) {
	t := b.t
	t.Helper()

	// The list: the API's state and the queue of each job, counts.
	b.open("/ui/jobs")
	b.waitJS("both jobs idle with one success each", `[...document.querySelectorAll("table.jobs tbody tr")].map(
		tr => [...tr.cells].slice(0, 3).map(c => c.textContent).concat(tr.cells[8].textContent).join("|")).join(";") ===
		"ui-extract|idle|q11|1 / 0;ui-load|idle|q12|1 / 0"`, 30*time.Second)
	b.screenshot("jobs")
	b.run("phone width", 10*time.Second, chromedp.EmulateViewport(390, 844))
	b.open("/ui/jobs")
	b.fitsWidth("jobs (phone)")
	b.screenshot("jobs-phone")
	b.open("/ui/jobs/ui-extract")
	b.fitsWidth("job (phone)")
	b.screenshot("job-phone")
	b.run("desktop width", 10*time.Second, chromedp.EmulateViewport(1280, 900))

	// The queues: the example tree with each queue's jobs, and the used
	// share of a queue whose run is in flight (live).
	if code, body, err := s.do(http.MethodPost, "/scheduler/iso8601",
		`{"name":"ui-long","command":"sleep 120","schedule":"R/2030-01-01T00:00:00Z/P1D","cpus":1,"mem":32,"queue":"q21"}`); err != nil || code/100 != 2 {
		t.Fatalf("add ui-long: %d %s %v", code, body, err)
	}
	b.open("/ui/queues")
	b.waitJS("the example queues", `[...document.querySelectorAll("table.queues tbody tr")].map(
		tr => tr.cells[0].textContent + "=" + tr.cells[2].textContent + "/" + tr.cells[6].textContent).join(" ") ===
		"root=100 %/3 biz1=20 %/2 q11=8 %/1 q12=12 %/1 biz2=80 %/1 q21=40 %/1 default=40 %/0"`, 10*time.Second)
	if code, body, err := s.do(http.MethodPut, "/scheduler/job/ui-long", ""); err != nil || code/100 != 2 {
		t.Fatalf("run ui-long: %d %s %v", code, body, err)
	}
	b.waitJS("q21's run using a share (live)", `(() => { const r = [...document.querySelectorAll("table.queues tbody tr")]
		.find(tr => tr.cells[0].textContent === "q21"); return r.cells[3].textContent.trim() !== "0 %" &&
		r.querySelector(".share .used").style.width !== "0%"; })()`, 30*time.Second)
	b.screenshot("queues")
	// The tasks page: ui-long's task running, the ended runs of both jobs.
	b.open("/ui/tasks")
	b.waitJS("job tasks on the tasks page", `(() => {
		const cells = sel => [...document.querySelectorAll(sel)].map(td => td.textContent);
		const running = cells("#all-tasks table:not(.ended) tbody td:nth-child(2)");
		const ended = cells("#all-tasks table.ended tbody td:nth-child(2)");
		return running.includes("job ui-long") && ended.includes("job ui-extract") && ended.includes("job ui-load"); })()`, 10*time.Second)
	b.screenshot("tasks-jobs")
	// Deleting the job (typed confirmation) kills its run.
	b.open("/ui/jobs/ui-long")
	b.run("type the confirmation", 10*time.Second, chromedp.SetValue(chromedp.CSS("#confirm"), "ui-long"))
	b.submit("delete ui-long", "button.danger")
	b.noAlert("delete ui-long")
	if got := b.textOf(".notice"); !strings.Contains(got, "Deleted ui-long") {
		t.Fatalf("notice after delete = %q", got)
	}

}

// editJobInvalid: the edit form, and the API's error beside the field it
// names.
func (b *browser) editJobInvalid() {
	t := b.t
	t.Helper()
	b.open("/ui/jobs/ui-extract/edit")
	b.screenshot("jobform-edit")
	b.run("an unknown queue", 10*time.Second, chromedp.SetValue(chromedp.CSS("#queue"), "no-such-queue"))
	b.submit("save with an unknown queue", `button[name=mode][value=save]`)
	if got := b.textOf("#err-queue"); !strings.Contains(got, "unknown queue") {
		t.Fatalf("error beside the queue = %q", got)
	}
	b.screenshot("jobform-invalid")
}

// addJob fills the ADD JOB form (empty values are left alone).
func (b *browser) addJob(name, command, schedule, parents, queue string) {
	b.t.Helper()
	var steps []chromedp.Action[chromedp.Void]
	for _, f := range [][2]string{{"#name", name}, {"#command", command}, {"#schedule", schedule}, {"#parents", parents},
		{"#cpus", "0.1"}, {"#mem", "32"}, {"#queue", queue}} {
		if f[1] != "" {
			steps = append(steps, chromedp.SetValue(chromedp.CSS(f[0]), f[1]))
		}
	}
	b.run("fill the job form", 20*time.Second, steps...)
}
