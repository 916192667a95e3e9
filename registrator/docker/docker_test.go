package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/registrator"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
)

func load(t *testing.T, name string) types.ContainerJSON {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var raw types.ContainerJSON
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return raw
}

type want struct {
	id, name, addr string
	port           int
	tags           []string
}

// TestFixtures runs real `docker inspect` output (Docker 20.10) through
// Convert and ServicesFor.
func TestFixtures(t *testing.T) {
	opts := registrator.Options{Hostname: "h", HostIP: "10.0.0.5", Owner: "h"}
	tests := []struct {
		file     string
		internal bool
		want     []want
		skip     string
	}{
		{
			// -p 127.0.0.1:31080:80 --expose 8080, SERVICE_NAME=web
			file: "inspect_bridge.json",
			want: []want{{"h:regfix-bridge:80", "web", "127.0.0.1", 31080, nil}},
			skip: "8080/tcp not published on host",
		},
		{
			file: "inspect_bridge.json", internal: true,
			want: []want{
				{"h:regfix-bridge:80", "web-80", "172.17.0.3", 80, nil},
				{"h:regfix-bridge:8080", "web-8080", "172.17.0.3", 8080, nil},
			},
		},
		{
			// --net host --expose 31999 on an image that EXPOSEs 80; a Berth
			// task (berth.task-id) with port 0 on 31999.
			file: "inspect_host.json",
			want: []want{
				{"h:regfix-host:80", "hello-80", "10.0.0.5", 80, []string{"berth"}},
				{"h:regfix-host:31999", "hello-31999", "10.0.0.5", 31999, []string{"berth"}},
			},
		},
		{
			// --network regfix-net -p 31081:80: the address on that network.
			file: "inspect_user.json",
			want: []want{{"h:regfix-user:80", "hello", "172.18.0.2", 31081, nil}},
		},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/internal=%v", tt.file, tt.internal), func(t *testing.T) {
			c := Convert(load(t, tt.file))
			o := opts
			o.Internal = tt.internal
			svcs, skips := registrator.ServicesFor(c, o)
			var got []want
			for _, s := range svcs {
				got = append(got, want{s.ID, s.Name, s.Address, s.Port, s.Tags})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
			var reasons []string
			for _, s := range skips {
				reasons = append(reasons, s.Port+" "+s.Reason)
			}
			if joined := strings.Join(reasons, "; "); tt.skip != "" && !strings.Contains(joined, tt.skip) || tt.skip == "" && joined != "" {
				t.Errorf("skips %q, want %q", joined, tt.skip)
			}
		})
	}
}

func TestConvert(t *testing.T) {
	c := Convert(load(t, "inspect_bridge.json"))
	if c.Name != "regfix-bridge" || !c.Running || c.NetworkMode != "default" || c.IP != "172.17.0.3" {
		t.Errorf("basic fields: %+v", c)
	}
	if !reflect.DeepEqual(c.ExposedPorts, []string{"80/tcp", "8080/tcp"}) {
		t.Errorf("exposed %q", c.ExposedPorts)
	}
	if b := c.Ports["80/tcp"]; len(b) != 1 || b[0] != (registrator.Binding{HostIP: "127.0.0.1", HostPort: "31080"}) {
		t.Errorf("bindings %+v", c.Ports)
	}
	if _, ok := c.Ports["8080/tcp"]; !ok || len(c.Ports["8080/tcp"]) != 0 {
		t.Errorf("unpublished port must be present without bindings: %+v", c.Ports)
	}
	if !containsEnv(c.Env, "SERVICE_NAME=web") || c.Labels["berth.test"] != "regfix" {
		t.Errorf("env %q labels %v", c.Env, c.Labels)
	}
	u := Convert(load(t, "inspect_user.json"))
	if u.IP != "172.18.0.2" || u.NetworkIPs["regfix-net"] != "172.18.0.2" {
		t.Errorf("user network: ip %q networks %v", u.IP, u.NetworkIPs)
	}
	if z := Convert(types.ContainerJSON{}); z.ID != "" || z.Running {
		t.Errorf("empty inspect: %+v", z)
	}
}

func containsEnv(env []string, kv string) bool {
	for _, e := range env {
		if e == kv {
			return true
		}
	}
	return false
}

// TestSourceAgainstDocker checks the adapter against the real engine:
// events since a past moment are replayed, list, inspect, not-found.
func TestSourceAgainstDocker(t *testing.T) {
	cli := testenv.Docker(t)
	testenv.Image(t, "berth/hello")
	label := fmt.Sprintf("regdocker-%d", time.Now().UnixNano())
	testenv.CleanupContainers(t, cli, "berth.test", label)
	src, err := New(Config{Client: cli})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	since := time.Now().Add(-time.Second)
	created, err := cli.ContainerCreate(ctx, &container.Config{Image: "berth/hello", Labels: map[string]string{"berth.test": label}}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	// The stream is opened after the start: the event must be replayed.
	got := make(chan registrator.Event, 100)
	wctx, wcancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- src.Watch(wctx, since, func(ev registrator.Event) { got <- ev }) }()
	waitEvent(t, got, created.ID, "start")

	ids, err := src.List(ctx, false)
	if err != nil || !contains(ids, created.ID) {
		t.Fatalf("List: %v, %d ids without ours", err, len(ids))
	}
	c, err := src.Inspect(ctx, created.ID)
	if err != nil || !c.Running || c.ID != created.ID {
		t.Fatalf("Inspect: %+v %v", c, err)
	}
	if err := cli.ContainerKill(ctx, created.ID, "KILL"); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, got, created.ID, "die")
	if c, err := src.Inspect(ctx, created.ID); err != nil || c.Running || c.ExitCode != 137 {
		t.Fatalf("after kill: %+v %v", c, err)
	}
	if ids, _ := src.List(ctx, false); contains(ids, created.ID) {
		t.Errorf("an exited container listed without all")
	}
	if ids, _ := src.List(ctx, true); !contains(ids, created.ID) {
		t.Errorf("an exited container not listed with all")
	}
	if _, err := src.Inspect(ctx, "no-such-container-"+label); !errors.Is(err, registrator.ErrNotFound) {
		t.Errorf("Inspect(missing) = %v, want ErrNotFound", err)
	}
	wcancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Watch after cancel = %v", err)
	}
}

func waitEvent(t *testing.T, ch <-chan registrator.Event, id, action string) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev := <-ch:
			if ev.ContainerID == id && ev.Action == action {
				if ev.Time.IsZero() {
					t.Errorf("event without a time")
				}
				return
			}
		case <-timeout:
			t.Fatalf("no %s event for %s", action, id[:12])
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// -tags templates run over the raw inspect, as registrator's do.
func TestTagsTemplateOverInspect(t *testing.T) {
	tpl, err := registrator.ParseTagsTemplate(`{{mIndex "berth.test" .Config.Labels}},{{strSlice .Name 1}},{{.NetworkSettings.IPAddress}},{{matchFirstElement "^SERVICE_NAME=" .Config.Env}}`)
	if err != nil {
		t.Fatal(err)
	}
	opts := registrator.Options{Hostname: "h", HostIP: "10.0.0.5", Owner: "h", TagsTemplate: tpl}
	svcs, _ := registrator.ServicesFor(Convert(load(t, "inspect_bridge.json")), opts)
	if len(svcs) != 1 {
		t.Fatalf("%d services", len(svcs))
	}
	want := []string{"regfix", "regfix-bridge", "172.17.0.3", "SERVICE_NAME=web"}
	if !reflect.DeepEqual(svcs[0].Tags, want) {
		t.Errorf("tags %q, want %q", svcs[0].Tags, want)
	}
}
