package livetest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

// TestProcessUser runs a process task with "user":"nobody": its
// process runs with nobody's uid and owns its sandbox.
func TestProcessUser(t *testing.T) {
	s := newStack(t)
	a := s.agent("node-a")
	s.must("POST", "/v2/apps", `{"id":"/user/p","cmd":"id -u > uid; id -g > gid; sleep 600","cpus":0.01,"mem":8,"user":"nobody"}`, 201)
	tid := s.waitTasks("/user/p", "running", 30*time.Second, running(1))[0].ID
	testenv.WaitFor(t, 20*time.Second, "the task wrote its uid", func() error {
		b, err := os.ReadFile(filepath.Join(a.sandbox(tid), "gid"))
		if err != nil {
			return err
		}
		uid, _ := os.ReadFile(filepath.Join(a.sandbox(tid), "uid"))
		if got := strings.TrimSpace(string(uid)) + ":" + strings.TrimSpace(string(b)); got != "65534:65534" {
			return fmt.Errorf("uid:gid %s, want 65534:65534", got)
		}
		return nil
	})
}

// dockerCmd records, inside the container, its uid, a copy of the
// fetched file, and (from /proc/uptime) when SIGTERM came and its last
// heartbeat, all in $MESOS_SANDBOX.
const dockerCmd = `cd "$MESOS_SANDBOX" && id -u > uid && cp data.txt copy && ` +
	`trap 'cut -d" " -f1 /proc/uptime > term' TERM; while true; do cut -d" " -f1 /proc/uptime > beat.tmp; mv beat.tmp beat; sleep 0.05; done`

// TestDockerUserArgsFetchGrace runs a Docker task (berth/busybox, whose
// image has no entrypoint: args are the command) with `user`, `args`,
// `fetch` and taskKillGracePeriodSeconds 4: it runs as uid 65534, finds
// the fetched file in $MESOS_SANDBOX (the agent's sandbox mounted at
// /mnt/mesos/sandbox), and, ignoring SIGTERM, lives 4 s after it before
// SIGKILL. cmd and args together are refused as Marathon does.
func TestDockerUserArgsFetchGrace(t *testing.T) {
	testenv.Image(t, "berth/busybox")
	cli := testenv.Docker(t)
	id := fmt.Sprintf("/dk/u%d", time.Now().UnixNano())
	testenv.CleanupContainers(t, cli, "berth.app-id", id)
	data := filepath.Join(t.TempDir(), "data.txt")
	if err := os.WriteFile(data, []byte("fetched\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newStack(t)
	a := s.agent("node-a", "--containerizers", "docker,process")
	if _, err := s.call("POST", "/v2/apps", `{"id":"/dk/both","cmd":"true","args":["true"],"container":{"type":"DOCKER","docker":{"image":"berth/busybox"}}}`, 422); err != nil {
		t.Fatal(err)
	}
	s.must("POST", "/v2/apps", fmt.Sprintf(`{"id":%q,"args":["sh","-c",%q],"user":"65534:65534","cpus":0.01,"mem":16,
		"taskKillGracePeriodSeconds":4,"fetch":[{"uri":"file://%s"}],
		"container":{"type":"DOCKER","docker":{"image":"berth/busybox"}}}`, id, dockerCmd, data), 201)
	tid := s.waitTasks(id, "running", 60*time.Second, running(1))[0].ID
	sb := filepath.Join(a.workDir, "docker", tid)
	testenv.WaitFor(t, 20*time.Second, "the container wrote its uid and copied the fetched file", func() error {
		uid, err := os.ReadFile(filepath.Join(sb, "uid"))
		if err != nil {
			return err
		}
		cp, err := os.ReadFile(filepath.Join(sb, "copy"))
		if err != nil {
			return err
		}
		if strings.TrimSpace(string(uid)) != "65534" || string(cp) != "fetched\n" {
			return fmt.Errorf("uid %q, copy %q", uid, cp)
		}
		_, err = os.Stat(filepath.Join(sb, "beat"))
		return err
	})
	s.must("DELETE", "/v2/apps"+id, "", 200)
	var term, beat float64
	testenv.WaitFor(t, 30*time.Second, "the container was stopped", func() error {
		if !strings.Contains(a.log(), "task="+tid+" grace=4s") {
			return fmt.Errorf("no SIGKILL logged yet")
		}
		var err error
		if term, err = readFloat(filepath.Join(sb, "term")); err != nil {
			return err
		}
		beat, err = readFloat(filepath.Join(sb, "beat"))
		return err
	})
	gap := time.Duration((beat - term) * float64(time.Second))
	t.Logf("Docker task, taskKillGracePeriodSeconds 4: lived %v after SIGTERM", gap)
	if gap < 3500*time.Millisecond {
		t.Errorf("SIGKILL came %v after SIGTERM, want about 4 s", gap)
	}
}

func readFloat(path string) (float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
}
