package testenv

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
)

// Docker returns a client for the local engine, checked with a ping and
// closed when the test ends.
func Docker(t testing.TB) *client.Client {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	Need(t, "docker client", err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = cli.Ping(ctx)
	Need(t, "docker engine (/var/run/docker.sock)", err)
	cli.NegotiateAPIVersion(ctx)
	t.Cleanup(func() { cli.Close() })
	return cli
}

// Image checks that a local image exists (nothing is ever pulled).
func Image(t testing.TB, name string) {
	t.Helper()
	cli := Docker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err := cli.ImageInspectWithRaw(ctx, name)
	Need(t, "local image "+name+" (built by `make setup`)", err)
}

// CleanupContainers removes, when the test ends, every container carrying
// the label key=value, running or not.
func CleanupContainers(t testing.TB, cli *client.Client, key, value string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		list, err := cli.ContainerList(ctx, container.ListOptions{
			All:     true,
			Filters: filters.NewArgs(filters.Arg("label", key+"="+value)),
		})
		if err != nil {
			t.Logf("testenv: list containers %s=%s: %v", key, value, err)
			return
		}
		for _, c := range list {
			if err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
				t.Logf("testenv: remove container %s: %v", c.ID, err)
			}
		}
	})
}

var (
	berthOnce sync.Once
	berthPath string
	berthErr  error
)

// BerthBinary builds ./cmd/berth once per test binary and returns its path.
// The build goes to a temp name and is renamed into .build/test-bin, so test
// binaries running in parallel never see a half-written file.
func BerthBinary(t testing.TB) string {
	t.Helper()
	root := RepoRoot(t)
	berthOnce.Do(func() {
		dir := filepath.Join(root, ".build", "test-bin")
		if berthErr = os.MkdirAll(dir, 0o755); berthErr != nil {
			return
		}
		f, err := os.CreateTemp(dir, "berth-*.tmp")
		if err != nil {
			berthErr = err
			return
		}
		f.Close()
		cmd := exec.Command("go", "build", "-o", f.Name(), "./cmd/berth")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			os.Remove(f.Name())
			berthErr = &buildError{err: err, out: string(out)}
			return
		}
		berthPath = filepath.Join(dir, "berth")
		berthErr = os.Rename(f.Name(), berthPath)
	})
	if berthErr != nil {
		t.Fatalf("testenv: build berth: %v", berthErr)
	}
	return berthPath
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + ": " + e.out }
