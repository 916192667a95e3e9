package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
)

// Stop stops the whole stack and leaves no container or process behind:
// agents first (so nothing relaunches), then the master, then every task
// the dev agents ever ran (containers by berth.agent-id, process tasks from
// their records), then the registrator, lbsync (which stops HAProxy),
// nginx and Consul, and finally a sweep for any process still running from
// the work directory. It is idempotent.
func (s *Stack) Stop(ctx context.Context) error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return nil
	}
	s.stopped = true
	agents := append([]*child(nil), s.agents...)
	masters := append([]*child(nil), s.masters...)
	s.mu.Unlock()
	for i := range agents {
		s.rememberAgentID(i + 1)
		s.StopAgent(i + 1)
	}
	var errs []error
	for _, m := range masters {
		stopChild(m, 15*time.Second)
	}
	if err := s.removeTasks(ctx, s.AgentDirs); err != nil {
		errs = append(errs, err)
	}
	for _, c := range []*child{s.registr, s.lbsync, s.nginx, s.consul} {
		stopChild(c, 20*time.Second)
	}
	if err := sweep(s.cfg.WorkDir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func stopChild(c *child, grace time.Duration) {
	if c != nil {
		c.stop(grace)
	}
}

// removeTasks removes the containers of the agents whose work dirs are
// given, and kills their process tasks.
func (s *Stack) removeTasks(ctx context.Context, dirs []string) error {
	var errs []error
	ids := map[string]bool{}
	for _, d := range dirs {
		if id := readAgentID(d); id != "" {
			ids[id] = true
		}
		if err := killProcessTasks(filepath.Join(d, "process")); err != nil {
			errs = append(errs, err)
		}
	}
	if len(ids) > 0 {
		if err := removeContainers(ctx, ids); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func readAgentID(dir string) string {
	var af struct {
		ID string `json:"id"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "agent.json"))
	if err != nil || json.Unmarshal(b, &af) != nil {
		return ""
	}
	return af.ID
}

// removeContainers force-removes every container labelled with one of the
// agent ids.
func removeContainers(ctx context.Context, agentIDs map[string]bool) error {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return fmt.Errorf("docker client: %w", err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var errs []error
	for id := range agentIDs {
		list, err := cli.ContainerList(ctx, container.ListOptions{All: true,
			Filters: filters.NewArgs(filters.Arg("label", "berth.agent-id="+id))})
		if err != nil {
			errs = append(errs, fmt.Errorf("docker: list containers of agent %s: %w", id, err))
			continue
		}
		for _, c := range list {
			if err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil && !client.IsErrNotFound(err) {
				errs = append(errs, fmt.Errorf("docker: remove %s: %w", c.Names, err))
			}
		}
	}
	return errors.Join(errs...)
}

// killProcessTasks kills the process group of every live process task
// recorded under dir (<agent work dir>/process/<task>/process.json); a pid
// whose start time differs from the record belongs to someone else now.
func killProcessTasks(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("process tasks: %w", err)
	}
	for _, e := range entries {
		var pf struct {
			PID       int    `json:"pid"`
			StartTime uint64 `json:"startTime"`
			Exited    bool   `json:"exited"`
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "process.json"))
		if err != nil || json.Unmarshal(b, &pf) != nil || pf.Exited || pf.PID <= 1 {
			continue
		}
		if st, ok := procStartTime(pf.PID); !ok || st != pf.StartTime {
			continue
		}
		syscall.Kill(-pf.PID, syscall.SIGKILL)
		syscall.Kill(pf.PID, syscall.SIGKILL)
	}
	return nil
}

// procStartTime is field 22 of /proc/<pid>/stat.
func procStartTime(pid int) (uint64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0, false
	}
	v, err := strconv.ParseUint(f[19], 10, 64)
	return v, err == nil
}

// Leftovers lists processes (pid and command line) that still run from
// dir: whose command line names it or whose working directory is under it.
func Leftovers(dir string) []string {
	var out []string
	self := os.Getpid()
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
		cl := strings.ReplaceAll(strings.TrimRight(string(cmdline), "\x00"), "\x00", " ")
		if cl == "" {
			continue // a kernel thread or a zombie
		}
		if strings.Contains(cl, dir+"/") || strings.HasPrefix(cwd, dir+"/") {
			out = append(out, fmt.Sprintf("%d %s", pid, cl))
		}
	}
	return out
}

// sweep kills whatever Leftovers finds (a HAProxy or nginx whose parent
// died before stopping it) and reports it.
func sweep(dir string) error {
	left := Leftovers(dir)
	for _, l := range left {
		pid, _ := strconv.Atoi(strings.Fields(l)[0])
		syscall.Kill(pid, syscall.SIGKILL)
	}
	// SIGKILL is asynchronous: wait (bounded) until they are gone.
	for deadline := time.Now().Add(10 * time.Second); len(left) > 0 && time.Now().Before(deadline); {
		if len(Leftovers(dir)) == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(left) > 0 {
		return fmt.Errorf("killed %d processes left behind: %s", len(left), strings.Join(left, "; "))
	}
	return nil
}
