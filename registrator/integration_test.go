package registrator_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/registrator"
	regconsul "github.com/berth-platform/berth/registrator/consul"
	regdocker "github.com/berth-platform/berth/registrator/docker"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"
	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"
)

// world is one real Consul dev agent, the local Docker engine, and a
// label that marks (and cleans up) this test's containers.
type world struct {
	t      testing.TB
	consul *testenv.Consul
	docker *client.Client
	label  string // value of berth.test
}

func newWorld(t testing.TB) *world {
	t.Helper()
	cli := testenv.Docker(t)
	testenv.Image(t, "berth/hello")
	w := &world{t: t, docker: cli, consul: testenv.StartConsul(t), label: "registrator-" + randHex(4)}
	testenv.CleanupContainers(t, cli, "berth.test", w.label)
	return w
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// run starts an in-process registrator against the world's Consul; it
// stops when the test ends.
func (w *world) run(naming registrator.Options, tweak func(*registrator.Config)) *registrator.Registrator {
	w.t.Helper()
	src, err := regdocker.New(regdocker.Config{Client: w.docker})
	if err != nil {
		w.t.Fatal(err)
	}
	reg, err := regconsul.New(regconsul.Config{Address: w.consul.HTTPAddr})
	if err != nil {
		w.t.Fatal(err)
	}
	cfg := registrator.Config{
		Docker: src, Registry: reg, Naming: naming,
		Logger:      slog.New(slog.NewTextHandler(logWriter{w.t}, &slog.HandlerOptions{Level: slog.LevelInfo})),
		AntiEntropy: 500 * time.Millisecond,
		BackoffMin:  50 * time.Millisecond, BackoffMax: time.Second,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	r, err := registrator.New(cfg)
	if err != nil {
		w.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	w.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			w.t.Errorf("Run: %v", err)
		}
	})
	return r
}

type logWriter struct{ t testing.TB }

func (l logWriter) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// spec is one container to start.
type spec struct {
	env     []string
	labels  map[string]string
	publish []string // container ports published on a random host port, e.g. "80/tcp"
	expose  []string // exposed, not published
	host    bool     // host networking
}

// started is a running container: its name, id and published host ports.
type started struct {
	name, id string
	ports    map[string]int // "80/tcp" → host port
}

func (w *world) start(s spec) started {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	name := "regtest-" + randHex(4)
	labels := map[string]string{"berth.test": w.label}
	for k, v := range s.labels {
		labels[k] = v
	}
	cfg := &container.Config{Image: "berth/hello", Env: s.env, Labels: labels, ExposedPorts: nat.PortSet{}}
	hc := &container.HostConfig{PortBindings: nat.PortMap{}}
	for _, p := range s.publish {
		cfg.ExposedPorts[nat.Port(p)] = struct{}{}
		hc.PortBindings[nat.Port(p)] = []nat.PortBinding{{HostIP: "0.0.0.0"}}
	}
	for _, p := range s.expose {
		cfg.ExposedPorts[nat.Port(p)] = struct{}{}
	}
	if s.host {
		hc.NetworkMode = "host"
	}
	created, err := w.docker.ContainerCreate(ctx, cfg, hc, nil, nil, name)
	if err != nil {
		w.t.Fatalf("create %s: %v", name, err)
	}
	if err := w.docker.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		w.t.Fatalf("start %s: %v", name, err)
	}
	info, err := w.docker.ContainerInspect(ctx, created.ID)
	if err != nil {
		w.t.Fatalf("inspect %s: %v", name, err)
	}
	st := started{name: name, id: created.ID, ports: map[string]int{}}
	for p, bs := range info.NetworkSettings.Ports {
		if len(bs) > 0 {
			st.ports[string(p)], _ = strconv.Atoi(bs[0].HostPort)
		}
	}
	return st
}

func (w *world) kill(id string) {
	w.t.Helper()
	if err := w.docker.ContainerKill(context.Background(), id, "KILL"); err != nil {
		w.t.Fatalf("kill: %v", err)
	}
}

// entry is the part of a catalog entry the tests compare.
type entry struct {
	ID, Name, Address string
	Port              int
	Tags              []string
	Meta              map[string]string
}

// catalog returns this world's catalog entries whose ID starts with prefix,
// sorted by ID, fingerprints checked and removed.
func (w *world) catalog(prefix string) ([]entry, error) {
	names, _, err := w.consul.Client.Catalog().Services(nil)
	if err != nil {
		return nil, err
	}
	var out []entry
	for name := range names {
		list, _, err := w.consul.Client.Catalog().Service(name, "", nil)
		if err != nil {
			return nil, err
		}
		for _, s := range list {
			if !strings.HasPrefix(s.ServiceID, prefix) {
				continue
			}
			meta := map[string]string{}
			for k, v := range s.ServiceMeta {
				meta[k] = v
			}
			if fp := meta[registrator.MetaFingerprint]; len(fp) != 16 {
				return nil, fmt.Errorf("%s: fingerprint %q", s.ServiceID, fp)
			}
			delete(meta, registrator.MetaFingerprint)
			tags := s.ServiceTags
			if len(tags) == 0 {
				tags = nil
			}
			out = append(out, entry{s.ServiceID, s.ServiceName, s.ServiceAddress, s.ServicePort, tags, meta})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (w *world) waitCatalog(what, prefix string, want []entry) {
	w.t.Helper()
	testenv.WaitFor(w.t, 15*time.Second, what, func() error {
		got, err := w.catalog(prefix)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got, want) {
			return fmt.Errorf("catalog:\n got %+v\nwant %+v", got, want)
		}
		return nil
	})
}

func meta(owner string, c started, kv ...string) map[string]string {
	m := map[string]string{registrator.MetaOwner: owner, registrator.MetaContainer: c.id[:12]}
	for _, e := range kv {
		k, v, _ := strings.Cut(e, "=")
		m[k] = v
	}
	return m
}

var naming = registrator.Options{Hostname: "itest", HostIP: "127.0.0.1"}

// TestCatalogEntries starts the table of containers and asserts the
// exact catalog entry of each.
func TestCatalogEntries(t *testing.T) {
	w := newWorld(t)
	r := w.run(naming, nil)
	w.run(registrator.Options{Hostname: "itest-int", Internal: true}, nil)
	hostPort := testenv.FreePort(t)
	hp := strconv.Itoa(hostPort)

	plain := w.start(spec{publish: []string{"80/tcp"}})
	named := w.start(spec{publish: []string{"80/tcp"}, env: []string{"SERVICE_NAME=web", "SERVICE_TAGS=a,b", "SERVICE_REGION=eu"}})
	two := w.start(spec{publish: []string{"80/tcp", "8080/tcp"}})
	portName := w.start(spec{publish: []string{"80/tcp", "8080/tcp"}, labels: map[string]string{"SERVICE_80_NAME": "front"}})
	ignored := w.start(spec{publish: []string{"80/tcp"}, env: []string{"SERVICE_IGNORE=1"}})
	hostNet := w.start(spec{host: true, env: []string{"PORT0=" + hp}, expose: []string{hp + "/tcp"}})
	unpublished := w.start(spec{publish: []string{"80/tcp"}, expose: []string{"8080/tcp"}})
	checked := w.start(spec{publish: []string{"80/tcp"}, env: []string{"SERVICE_CHECK_HTTP=/", "SERVICE_CHECK_INTERVAL=1s"}})
	berth := w.start(spec{publish: []string{"80/tcp"}, labels: map[string]string{
		"berth.task-id": "shop_web.42", "berth.app-id": "/shop/web", "berth.app-version": "v1",
		"berth.agent-id": "agent-7", "berth.port.0.container": "80", "berth.port.0.service": "10080",
		"HAPROXY_GROUP": "external", "HAPROXY_0_VHOST": "shop.example.com",
		"berth.health.0.protocol": "HTTP", "berth.health.0.path": "/", "berth.health.0.interval": "1",
	}})

	id := func(c started, port string) string { return "itest:" + c.name + ":" + port }
	cases := []struct {
		name string
		c    started
		want []entry
	}{
		{"plain", plain, []entry{{id(plain, "80"), "hello", "127.0.0.1", plain.ports["80/tcp"], nil, meta("itest", plain)}}},
		{"SERVICE_NAME, SERVICE_TAGS, attributes", named, []entry{{id(named, "80"), "web", "127.0.0.1", named.ports["80/tcp"], []string{"a", "b"},
			meta("itest", named, "region=eu")}}},
		{"two published ports", two, []entry{
			{id(two, "80"), "hello-80", "127.0.0.1", two.ports["80/tcp"], nil, meta("itest", two)},
			{id(two, "8080"), "hello-8080", "127.0.0.1", two.ports["8080/tcp"], nil, meta("itest", two)},
		}},
		{"SERVICE_80_NAME", portName, []entry{
			{id(portName, "80"), "front", "127.0.0.1", portName.ports["80/tcp"], nil, meta("itest", portName)},
			{id(portName, "8080"), "hello-8080", "127.0.0.1", portName.ports["8080/tcp"], nil, meta("itest", portName)},
		}},
		// berth/hello's image EXPOSEs 80: with host networking every exposed
		// port counts, as in registrator, so there are two services.
		{"host network", hostNet, []entry{
			{id(hostNet, hp), "hello-" + hp, "127.0.0.1", hostPort, nil, meta("itest", hostNet)},
			{id(hostNet, "80"), "hello-80", "127.0.0.1", 80, nil, meta("itest", hostNet)},
		}},
		{"unpublished port left out", unpublished, []entry{{id(unpublished, "80"), "hello", "127.0.0.1", unpublished.ports["80/tcp"], nil, meta("itest", unpublished)}}},
		{"check", checked, []entry{{id(checked, "80"), "hello", "127.0.0.1", checked.ports["80/tcp"], nil,
			meta("itest", checked, "check_http=/", "check_interval=1s")}}},
		{"Berth labels", berth, []entry{{id(berth, "80"), "hello", "127.0.0.1", berth.ports["80/tcp"], []string{"berth"},
			meta("itest", berth, "berth_app=/shop/web", "berth_task=shop_web.42", "berth_version=v1", "berth_agent=agent-7",
				"berth_port_index=0", "berth_service_port=10080", "HAPROXY_GROUP=external", "HAPROXY_0_VHOST=shop.example.com",
				"berth_check_protocol=HTTP", "berth_check_path=/", "berth_check_interval=1")}}},
	}
	for _, tc := range cases {
		w.waitCatalog(tc.name, "itest:"+tc.c.name+":", tc.want)
	}

	// -internal: container IP and exposed ports, unpublished ones too.
	ip := containerIP(t, w, unpublished.id)
	w.waitCatalog("-internal", "itest-int:"+unpublished.name+":", []entry{
		{"itest-int:" + unpublished.name + ":80", "hello-80", ip, 80, nil, meta("itest-int", unpublished)},
		{"itest-int:" + unpublished.name + ":8080", "hello-8080", ip, 8080, nil, meta("itest-int", unpublished)},
	})

	// SERVICE_IGNORE: the registrator saw it and registered nothing.
	testenv.WaitFor(t, 10*time.Second, "the ignored container explained", func() error {
		for _, s := range r.Snapshot().Skips {
			if s.Container == ignored.name && strings.Contains(s.Reason, "SERVICE_IGNORE") {
				return nil
			}
		}
		return fmt.Errorf("no skip for %s", ignored.name)
	})
	if got, err := w.catalog("itest:" + ignored.name + ":"); err != nil || len(got) != 0 {
		t.Errorf("ignored container registered: %+v %v", got, err)
	}

	// Checks: the HTTP checks target the registered address and pass.
	for _, c := range []started{checked, berth} {
		want := fmt.Sprintf("http://127.0.0.1:%d/", c.ports["80/tcp"])
		waitCheck(t, w, id(c, "80"), want, api.HealthPassing)
	}
}

func containerIP(t *testing.T, w *world, id string) string {
	t.Helper()
	info, err := w.docker.ContainerInspect(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return info.NetworkSettings.IPAddress
}

// waitCheck waits until the service's only check targets url and has status.
func waitCheck(t *testing.T, w *world, serviceID, url, status string) {
	t.Helper()
	testenv.WaitFor(t, 15*time.Second, "check of "+serviceID+" "+status, func() error {
		checks, err := w.consul.Client.Agent().Checks()
		if err != nil {
			return err
		}
		var mine []*api.AgentCheck
		for _, c := range checks {
			if c.ServiceID == serviceID {
				mine = append(mine, c)
			}
		}
		if len(mine) != 1 {
			return fmt.Errorf("%d checks for %s", len(mine), serviceID)
		}
		// The agent does not echo the definition; the output of an HTTP
		// check names the URL it requested.
		c := mine[0]
		if c.Type != "http" || !strings.Contains(c.Output, url) {
			return fmt.Errorf("check type %q output %q, want an http check of %s", c.Type, c.Output, url)
		}
		if c.Status != status {
			return fmt.Errorf("check status %s (%s), want %s", c.Status, c.Output, status)
		}
		return nil
	})
}

func TestKilledContainerIsDeregistered(t *testing.T) {
	w := newWorld(t)
	w.run(naming, nil)
	c := w.start(spec{publish: []string{"80/tcp"}})
	prefix := "itest:" + c.name + ":"
	w.waitCatalog("registered", prefix, []entry{{prefix + "80", "hello", "127.0.0.1", c.ports["80/tcp"], nil, meta("itest", c)}})
	w.kill(c.id)
	w.waitCatalog("deregistered after the kill", prefix, nil)
}

func TestConsulRestartAndManualRemoval(t *testing.T) {
	w := newWorld(t)
	w.run(naming, nil)
	a := w.start(spec{publish: []string{"80/tcp"}, env: []string{"SERVICE_NAME=alpha"}})
	b := w.start(spec{publish: []string{"80/tcp"}, env: []string{"SERVICE_NAME=beta"}})
	wantA := entry{"itest:" + a.name + ":80", "alpha", "127.0.0.1", a.ports["80/tcp"], nil, meta("itest", a)}
	wantB := entry{"itest:" + b.name + ":80", "beta", "127.0.0.1", b.ports["80/tcp"], nil, meta("itest", b)}
	w.waitCatalog("alpha", "itest:"+a.name, []entry{wantA})
	w.waitCatalog("beta", "itest:"+b.name, []entry{wantB})

	// Removed by hand through the agent: restored on the next pass.
	if err := w.consul.Client.Agent().ServiceDeregister(wantA.ID); err != nil {
		t.Fatal(err)
	}
	w.waitCatalog("alpha restored after a manual removal", "itest:"+a.name, []entry{wantA})

	// Consul stopped and started: a dev agent comes back empty. beta's
	// container exits meanwhile and must not come back.
	w.consul.Stop()
	w.kill(b.id)
	w.consul.Start()
	back := time.Now()
	testenv.WaitFor(t, 5*time.Second, "catalog restored within 5 s of Consul's return", func() error {
		got, err := w.catalog("itest:" + a.name)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got, []entry{wantA}) {
			return fmt.Errorf("catalog %+v", got)
		}
		return nil
	})
	t.Logf("catalog restored %v after Consul's return", time.Since(back).Round(time.Millisecond))
	if got, err := w.catalog("itest:" + b.name); err != nil || len(got) != 0 {
		t.Errorf("exited container registered again: %+v %v", got, err)
	}
}

func TestDNSSRVGivesTheHostPort(t *testing.T) {
	w := newWorld(t)
	w.run(naming, nil)
	name := "srv-" + randHex(3)
	c := w.start(spec{publish: []string{"80/tcp"}, env: []string{"SERVICE_NAME=" + name}})
	var port uint16
	testenv.WaitFor(t, 15*time.Second, "SRV "+name+".service.consul", func() error {
		m := new(dns.Msg)
		m.SetQuestion(name+".service.consul.", dns.TypeSRV)
		r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(m, w.consul.DNSAddr)
		if err != nil {
			return err
		}
		for _, rr := range r.Answer {
			if srv, ok := rr.(*dns.SRV); ok {
				port = srv.Port
				return nil
			}
		}
		return fmt.Errorf("no SRV answer: rcode %s", dns.RcodeToString[r.Rcode])
	})
	if int(port) != c.ports["80/tcp"] {
		t.Fatalf("SRV port %d, want the container's host port %d", port, c.ports["80/tcp"])
	}
}

func TestFailingHTTPCheckKeepsInstanceOutOfPassing(t *testing.T) {
	w := newWorld(t)
	w.run(naming, nil)
	name := "chk-" + randHex(3)
	common := []string{"SERVICE_NAME=" + name, "SERVICE_CHECK_HTTP=/", "SERVICE_CHECK_INTERVAL=1s",
		"SERVICE_CHECK_TIMEOUT=1s", "SERVICE_CHECK_INITIAL_STATUS=passing"}
	good := w.start(spec{publish: []string{"80/tcp"}, env: common})
	// Nothing listens on 8080 in the container: the check must fail, and
	// since it starts as passing, only the check can take it out.
	bad := w.start(spec{publish: []string{"8080/tcp"}, env: common})
	goodID, badID := "itest:"+good.name+":80", "itest:"+bad.name+":8080"
	waitCheck(t, w, badID, fmt.Sprintf("http://127.0.0.1:%d/", bad.ports["8080/tcp"]), api.HealthCritical)
	waitCheck(t, w, goodID, fmt.Sprintf("http://127.0.0.1:%d/", good.ports["80/tcp"]), api.HealthPassing)
	// The agent pushes the status change to the catalog asynchronously.
	testenv.WaitFor(t, 10*time.Second, "only the good instance passing", func() error {
		entries, _, err := w.consul.Client.Health().Service(name, "", true, nil)
		if err != nil {
			return err
		}
		var ids []string
		for _, e := range entries {
			ids = append(ids, e.Service.ID)
		}
		if !reflect.DeepEqual(ids, []string{goodID}) {
			return fmt.Errorf("health/service/%s?passing = %q, want only %q", name, ids, goodID)
		}
		return nil
	})
	all, _, err := w.consul.Client.Health().Service(name, "", false, nil)
	if err != nil || len(all) != 2 {
		t.Fatalf("both instances must be registered: %d, %v", len(all), err)
	}
}
