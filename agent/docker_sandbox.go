package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ContainerSandbox is where a Docker task's sandbox is mounted, as the
// Mesos Docker containerizer does; $MESOS_SANDBOX names it.
const ContainerSandbox = "/mnt/mesos/sandbox"

// sandboxDir is a Docker task's sandbox on the agent ("" without a root).
func (d *DockerRuntime) sandboxDir(taskID string) string {
	if d.sandboxRoot == "" {
		return ""
	}
	return filepath.Join(d.sandboxRoot, taskID)
}

// prepareSandbox creates the task's sandbox, fetches its URIs into it,
// gives it to the task's user and mounts it at ContainerSandbox.
func (d *DockerRuntime) prepareSandbox(ctx context.Context, l Launch, ds *dockerSpec) error {
	dir := d.sandboxDir(l.Spec.TaskID)
	if dir == "" {
		if len(l.Spec.Fetch) > 0 {
			return fmt.Errorf("docker: the task has fetch URIs but the agent has no sandbox directory")
		}
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("docker: create sandbox %s: %w", dir, err)
	}
	if err := FetchAll(ctx, dir, l.Spec.Fetch, nil); err != nil {
		return err
	}
	if uid, gid, ok := hostIDs(l.Spec.User); ok {
		if err := chownTree(dir, uid, gid); err != nil {
			return fmt.Errorf("docker: chown sandbox to %s: %w", l.Spec.User, err)
		}
	}
	ds.Host.Binds = append(ds.Host.Binds, dir+":"+ContainerSandbox+":rw")
	ds.Config.Env = append(ds.Config.Env, "MESOS_SANDBOX="+ContainerSandbox)
	return nil
}

// hostIDs resolves a Docker --user value (name, uid, name:group or
// uid:gid) on the agent's host, for the sandbox's owner; a name unknown
// here (it may exist only in the image) leaves the sandbox as it is.
func hostIDs(u string) (int, int, bool) {
	if u == "" {
		return 0, 0, false
	}
	name, group, _ := strings.Cut(u, ":")
	uid, err := strconv.Atoi(name)
	gid := uid
	if err != nil {
		cred, cerr := credential(name)
		if cerr != nil {
			return 0, 0, false
		}
		uid, gid = int(cred.Uid), int(cred.Gid)
	}
	if g, err := strconv.Atoi(group); err == nil {
		gid = g
	}
	return uid, gid, true
}

func chownTree(dir string, uid, gid int) error {
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// removeSandbox deletes a Docker task's sandbox with its container.
func (d *DockerRuntime) removeSandbox(taskID string) error {
	if dir := d.sandboxDir(taskID); dir != "" && taskID != "" {
		return os.RemoveAll(dir)
	}
	return nil
}
