package master_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

// TestJobsExactlyOnceAcrossLeaderChange: two `berth master` processes on
// ZooKeeper and an agent following the leader. A run in flight when the
// leader is killed is adopted by the next leader and counted once, and an
// occurrence due just after the kill runs exactly once.
func TestJobsExactlyOnceAcrossLeaderChange(t *testing.T) {
	bin := testenv.BerthBinary(t)
	zk := testenv.StartZooKeeper(t)
	zkURL := "zk://" + zk.Addr + "/berth-jobs-ha"
	dir := t.TempDir()
	start := func(name string, args ...string) *exec.Cmd {
		logf, err := os.Create(filepath.Join(dir, name+".log"))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if cmd.ProcessState == nil {
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
				done := make(chan struct{})
				go func() { _ = cmd.Wait(); close(done) }()
				select {
				case <-done:
				case <-time.After(15 * time.Second):
					_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
					<-done
				}
			}
			logf.Close()
			if t.Failed() {
				b, _ := os.ReadFile(logf.Name())
				t.Logf("%s log:\n%s", name, b)
			}
		})
		return cmd
	}
	addrs := []string{fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)), fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))}
	chronos := map[string]string{} // each master's --chronos-listen
	masters := map[string]*exec.Cmd{}
	for i, a := range addrs {
		chronos[a] = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
		masters[a] = start(fmt.Sprintf("master-%d", i+1), "master", "--listen", a, "--zk", zkURL, "--chronos-listen", chronos[a],
			"--zk-session-timeout", "1s", "--job-retry-delay", "1s", "--work-dir", filepath.Join(dir, fmt.Sprintf("m%d", i+1)))
	}
	start("agent", "agent", "--master", zkURL, "--listen", fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)),
		"--hostname", "ha-agent", "--work-dir", filepath.Join(dir, "agent"), "--containerizers", "process",
		"--resources", "cpus:2;mem:1024;disk:1024;ports:[32490-32499]")
	s := &jobStack{t: t, url: "http://" + addrs[0]}
	leader := ""
	testenv.WaitFor(t, 60*time.Second, "a leader and the agent registered", func() error {
		var l struct{ Leader string }
		if err := s.get("/v2/leader", &l); err != nil {
			return err
		}
		var out struct{ Slaves []struct{ ID string } }
		if err := s.get("/master/slaves", &out); err != nil {
			return err
		}
		if len(out.Slaves) != 1 {
			return fmt.Errorf("%d agents", len(out.Slaves))
		}
		leader = l.Leader
		return nil
	})
	var survivor string
	for _, a := range addrs {
		if a != leader {
			survivor = a
		}
	}
	if masters[leader] == nil || survivor == "" {
		t.Fatalf("leader %q is none of %v", leader, addrs)
	}
	s.url = "http://" + survivor // forwarded to the leader until it dies
	t1 := time.Now().Add(3 * time.Second)
	t2 := t1.Add(3 * time.Second)
	stamp := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
	// posted to the standby's Chronos port: forwarded to the leader
	cs := &jobStack{t: t, url: "http://" + chronos[survivor]}
	cs.must(204, "POST", "/scheduler/iso8601", `{"name":"long","command":"sleep 4","schedule":"R1/`+stamp(t1)+`/PT1H","retries":"0"}`)
	cs.must(204, "POST", "/v1/scheduler/iso8601", `{"name":"next","command":"true","schedule":"R1/`+stamp(t2)+`/PT1H","retries":"0"}`)
	if c, _, _ := cs.do("GET", "/v2/apps", ""); c != 404 {
		t.Errorf("the Chronos port serves /v2/apps: %d", c)
	}
	testenv.WaitFor(t, 30*time.Second, "long running", func() error {
		if j := s.job("long"); j.State != "running" {
			return fmt.Errorf("state %s", j.State)
		}
		return nil
	})
	testenv.WaitFor(t, 10*time.Second, "long's task listed as running", func() error {
		var tasks struct {
			Tasks []struct{ ID, AppID, State, Host string }
		}
		if err := s.get("/scheduler/tasks", &tasks); err != nil {
			return err
		}
		if len(tasks.Tasks) != 1 || tasks.Tasks[0].AppID != "chronos:long" || tasks.Tasks[0].State != "TASK_RUNNING" ||
			tasks.Tasks[0].Host != "ha-agent" {
			return fmt.Errorf("job tasks %+v", tasks)
		}
		return nil
	})
	time.Sleep(time.Until(t2.Add(-time.Second))) // the kill lands just before next's due time
	if err := syscall.Kill(-masters[leader].Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = masters[leader].Wait()
	testenv.WaitFor(t, 60*time.Second, "the survivor leading", func() error {
		var l struct{ Leader string }
		if err := s.get("/v2/leader", &l); err != nil {
			return err
		}
		if l.Leader != survivor {
			return fmt.Errorf("leader %q", l.Leader)
		}
		return nil
	})
	for _, name := range []string{"long", "next"} {
		s.waitJob(name, 1, 0)
		h := s.stat(name).History
		if len(h) != 1 || h[0].Status != "success" || !strings.HasPrefix(h[0].TaskID, "ct-"+name+".") {
			t.Errorf("%s history: %+v", name, h)
		}
	}
	// R1 is spent: no occurrence is left to run a second time
	for _, name := range []string{"long", "next"} {
		if j := s.job(name); j.NextDue != "" || !strings.HasPrefix(j.Schedule, "R0/") {
			t.Errorf("%s still scheduled: %s next %s", name, j.Schedule, j.NextDue)
		}
	}
}
