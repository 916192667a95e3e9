package registrator

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

const testID = "0123456789abcdef0123456789abcdef"

var baseOpts = Options{Hostname: "host1", HostIP: "10.0.0.5", Owner: "host1"}

// ctr builds a running bridge-networked container; ports are
// "80/tcp=32768" (published) or "80/tcp" (exposed only).
func ctr(name, image string, ports ...string) Container {
	c := Container{
		ID: testID, Name: name, Image: image, Running: true,
		NetworkMode: "default", IP: "172.17.0.2",
		Labels: map[string]string{}, Ports: map[string][]Binding{},
	}
	for _, p := range ports {
		key, hp, published := strings.Cut(p, "=")
		c.ExposedPorts = append(c.ExposedPorts, key)
		if published {
			c.Ports[key] = []Binding{{HostIP: "0.0.0.0", HostPort: hp}, {HostIP: "::", HostPort: hp}}
		} else {
			c.Ports[key] = nil
		}
	}
	return c
}

func with(c Container, f func(*Container)) Container { f(&c); return c }

func env(c Container, kv ...string) Container {
	c.Env = append(c.Env, kv...)
	return c
}

func labels(c Container, kv ...string) Container {
	l := map[string]string{}
	for k, v := range c.Labels {
		l[k] = v
	}
	for _, e := range kv {
		k, v, _ := strings.Cut(e, "=")
		l[k] = v
	}
	c.Labels = l
	return c
}

// svc is an expected service; Meta gets the owner and container keys.
func svc(id, name, addr string, port int, tags []string, meta map[string]string, check *Check) Service {
	m := map[string]string{MetaOwner: "host1", MetaContainer: testID[:12]}
	for k, v := range meta {
		m[k] = v
	}
	return Service{ID: id, Name: name, Address: addr, Port: port, Tags: tags, Meta: m, Check: check}
}

func TestServicesFor(t *testing.T) {
	nginx := ctr("web", "nginx:1.25", "80/tcp=32768", "443/tcp=32769")
	berthLabels := []string{
		"berth.task-id=shop_web.1234", "berth.app-id=/shop/web", "berth.app-version=2026-01-01T00:00:00Z",
		"berth.agent-id=agent-1", "berth.port.0.service=10001", "berth.port.0.container=80",
		"berth.port.0.name=http", "berth.port.1.service=10002", "berth.port.1.container=443",
		"HAPROXY_GROUP=external", "HAPROXY_0_VHOST=shop.example.com", "HAPROXY_1_MODE=tcp", "OTHER=x",
	}
	berthMeta := func(idx, sp string, extra ...string) map[string]string {
		m := map[string]string{
			MetaApp: "/shop/web", MetaTask: "shop_web.1234", MetaVersion: "2026-01-01T00:00:00Z",
			MetaAgent: "agent-1", MetaPortIndex: idx, MetaServicePort: sp, "HAPROXY_GROUP": "external",
		}
		for _, e := range extra {
			k, v, _ := strings.Cut(e, "=")
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name  string
		c     Container
		opts  func(*Options)
		want  []Service
		skips []string // substrings of the skip reasons, in order
	}{
		{
			name: "plain: image base name, host IP for 0.0.0.0, published port",
			c:    ctr("redis1", "redis", "6379/tcp=32768"),
			want: []Service{svc("host1:redis1:6379", "redis", "10.0.0.5", 32768, nil, nil, nil)},
		},
		{
			name: "image path and tag are stripped",
			c:    ctr("f", "gliderlabs/foobar:1.2", "80/tcp=1"),
			want: []Service{svc("host1:f:80", "foobar", "10.0.0.5", 1, nil, nil, nil)},
		},
		{
			name: "registry with port in the image reference",
			c:    ctr("f", "registry.local:5000/team/app:v3", "80/tcp=1"),
			want: []Service{svc("host1:f:80", "app", "10.0.0.5", 1, nil, nil, nil)},
		},
		{
			name: "digest reference keeps @sha256 as registrator does",
			c:    ctr("f", "app@sha256:abcdef", "80/tcp=1"),
			want: []Service{svc("host1:f:80", "app@sha256", "10.0.0.5", 1, nil, nil, nil)},
		},
		{
			name: "two published ports: -<exposed port> suffix",
			c:    nginx,
			want: []Service{
				svc("host1:web:80", "nginx-80", "10.0.0.5", 32768, nil, nil, nil),
				svc("host1:web:443", "nginx-443", "10.0.0.5", 32769, nil, nil, nil),
			},
		},
		{
			name: "SERVICE_NAME gets the suffix too",
			c:    env(nginx, "SERVICE_NAME=db"),
			want: []Service{
				svc("host1:web:80", "db-80", "10.0.0.5", 32768, nil, nil, nil),
				svc("host1:web:443", "db-443", "10.0.0.5", 32769, nil, nil, nil),
			},
		},
		{
			name: "SERVICE_80_NAME: no suffix for that port, wins over SERVICE_NAME",
			c:    env(nginx, "SERVICE_80_NAME=www", "SERVICE_NAME=db"),
			want: []Service{
				svc("host1:web:80", "www", "10.0.0.5", 32768, nil, nil, nil),
				svc("host1:web:443", "db-443", "10.0.0.5", 32769, nil, nil, nil),
			},
		},
		{
			name: "port-specific key wins whatever the order",
			c:    env(nginx, "SERVICE_NAME=db", "SERVICE_80_NAME=www"),
			want: []Service{
				svc("host1:web:80", "www", "10.0.0.5", 32768, nil, nil, nil),
				svc("host1:web:443", "db-443", "10.0.0.5", 32769, nil, nil, nil),
			},
		},
		{
			name:  "SERVICE_IGNORE skips the container",
			c:     env(nginx, "SERVICE_IGNORE=true"),
			skips: []string{"SERVICE_IGNORE", "SERVICE_IGNORE"},
		},
		{
			name: "SERVICE_443_IGNORE skips one port; the other keeps its suffix",
			c:    labels(nginx, "SERVICE_443_IGNORE=1"),
			want: []Service{
				svc("host1:web:80", "nginx-80", "10.0.0.5", 32768, nil, nil, nil),
			},
			skips: []string{"SERVICE_IGNORE"},
		},
		{
			name: "unpublished port is left out and does not count for the suffix",
			c:    ctr("a", "app", "80/tcp=32768", "8080/tcp"),
			want: []Service{
				svc("host1:a:80", "app", "10.0.0.5", 32768, nil, nil, nil),
			},
			skips: []string{"not published on host"},
		},
		{
			name:  "no ports at all",
			c:     ctr("a", "app"),
			skips: []string{"no published ports"},
		},
		{
			name: "-internal: container IP, exposed port, unpublished ports too",
			c:    ctr("a", "app", "80/tcp=32768", "8080/tcp"),
			opts: func(o *Options) { o.Internal = true },
			want: []Service{
				svc("host1:a:80", "app-80", "172.17.0.2", 80, nil, nil, nil),
				svc("host1:a:8080", "app-8080", "172.17.0.2", 8080, nil, nil, nil),
			},
		},
		{
			name: "host network: exposed ports on the host IP and the same port",
			c: with(ctr("h", "app"), func(c *Container) {
				c.NetworkMode, c.IP, c.ExposedPorts = "host", "", []string{"8080/tcp"}
			}),
			want: []Service{svc("host1:h:8080", "app", "10.0.0.5", 8080, nil, nil, nil)},
		},
		{
			name:  "-explicit without SERVICE_NAME",
			c:     ctr("a", "app", "80/tcp=1"),
			opts:  func(o *Options) { o.Explicit = true },
			skips: []string{"-explicit"},
		},
		{
			name: "-explicit with SERVICE_80_NAME",
			c:    labels(ctr("a", "app", "80/tcp=1"), "SERVICE_80_NAME=api"),
			opts: func(o *Options) { o.Explicit = true },
			want: []Service{svc("host1:a:80", "api", "10.0.0.5", 1, nil, nil, nil)},
		},
		{
			name: "-ip forces the address, even over a specific binding",
			c: with(ctr("a", "app", "80/tcp=1"), func(c *Container) {
				c.Ports["80/tcp"] = []Binding{{HostIP: "127.0.0.1", HostPort: "1"}}
			}),
			opts: func(o *Options) { o.ForceIP = "192.168.1.9" },
			want: []Service{svc("host1:a:80", "app", "192.168.1.9", 1, nil, nil, nil)},
		},
		{
			name: "a binding to a specific host IP is used as is",
			c: with(ctr("a", "app", "80/tcp=1"), func(c *Container) {
				c.Ports["80/tcp"] = []Binding{{HostIP: "127.0.0.1", HostPort: "1"}}
			}),
			want: []Service{svc("host1:a:80", "app", "127.0.0.1", 1, nil, nil, nil)},
		},
		{
			name: "unresolved hostname leaves 0.0.0.0",
			c:    ctr("a", "app", "80/tcp=1"),
			opts: func(o *Options) { o.HostIP = "" },
			want: []Service{svc("host1:a:80", "app", "0.0.0.0", 1, nil, nil, nil)},
		},
		{
			name: "empty hostname: the binding's IP goes into the ID",
			c:    ctr("a", "app", "80/tcp=1"),
			opts: func(o *Options) { o.Hostname = "" },
			want: []Service{svc("0.0.0.0:a:80", "app", "10.0.0.5", 1, nil, nil, nil)},
		},
		{
			name: "SERVICE_TAGS with escaped comma, then -tags",
			c:    env(ctr("a", "app", "80/tcp=1"), `SERVICE_TAGS=a,b\,c,,d`),
			opts: func(o *Options) { o.Tags = "x,y" },
			want: []Service{svc("host1:a:80", "app", "10.0.0.5", 1, []string{"a", "b,c", "d", "x", "y"}, nil, nil)},
		},
		{
			name: "udp: :udp ID suffix and udp tag",
			c:    env(ctr("dns", "coredns", "53/udp=5353"), "SERVICE_TAGS=primary"),
			want: []Service{svc("host1:dns:53:udp", "coredns", "10.0.0.5", 5353, []string{"primary", "udp"}, nil, nil)},
		},
		{
			name: "tcp and udp on the same port are a group",
			c:    ctr("dns", "coredns", "53/tcp=5353", "53/udp=5353"),
			want: []Service{
				svc("host1:dns:53", "coredns-53", "10.0.0.5", 5353, nil, nil, nil),
				svc("host1:dns:53:udp", "coredns-53", "10.0.0.5", 5353, []string{"udp"}, nil, nil),
			},
		},
		{
			name: "SERVICE_ID and SERVICE_443_ID",
			c:    env(nginx, "SERVICE_ID=custom", "SERVICE_443_ID=tls"),
			want: []Service{
				svc("custom", "nginx-80", "10.0.0.5", 32768, nil, nil, nil),
				svc("tls", "nginx-443", "10.0.0.5", 32769, nil, nil, nil),
			},
		},
		{
			name: "a label overrides an env var with the same key",
			c:    labels(env(ctr("a", "app", "80/tcp=1"), "SERVICE_NAME=fromenv"), "SERVICE_NAME=fromlabel"),
			want: []Service{svc("host1:a:80", "fromlabel", "10.0.0.5", 1, nil, nil, nil)},
		},
		{
			name: "a port-specific env var beats a generic label",
			c:    labels(env(ctr("a", "app", "80/tcp=1"), "SERVICE_80_NAME=fromenv"), "SERVICE_NAME=fromlabel"),
			want: []Service{svc("host1:a:80", "fromenv", "10.0.0.5", 1, nil, nil, nil)},
		},
		{
			name: "other SERVICE_* keys become lower-case Meta; port keys only for their port",
			c:    env(nginx, "SERVICE_REGION=us2", "SERVICE_443_PROTO=https", "NOT_SERVICE=x", "SERVICE_80_REGION=eu1"),
			want: []Service{
				svc("host1:web:80", "nginx-80", "10.0.0.5", 32768, nil, map[string]string{"region": "eu1"}, nil),
				svc("host1:web:443", "nginx-443", "10.0.0.5", 32769, nil, map[string]string{"region": "us2", "proto": "https"}, nil),
			},
		},
		{
			name: "Meta keys Consul would refuse are dropped",
			c:    labels(ctr("a", "app", "80/tcp=1"), "SERVICE_foo.bar=1", "SERVICE_ok=1", "SERVICE_BERTH_REGISTRATOR=spoof"),
			want: []Service{svc("host1:a:80", "app", "10.0.0.5", 1, nil, map[string]string{"ok": "1"}, nil)},
			// berth_registrator is reserved, foo.bar has a dot.
			skips: []string{"reserved", "foo.bar"},
		},
		{
			name:  "exited container",
			c:     with(ctr("a", "app", "80/tcp=1"), func(c *Container) { c.Running, c.ExitCode = false, 137 }),
			skips: []string{"not running (exit code 137)"},
		},
		{
			name:  "paused container",
			c:     with(ctr("a", "app", "80/tcp=1"), func(c *Container) { c.Paused = true }),
			skips: []string{"paused"},
		},
		{
			name:  "restarting container",
			c:     with(ctr("a", "app", "80/tcp=1"), func(c *Container) { c.Restarting = true }),
			skips: []string{"restarting"},
		},
		{
			name: "Docker health does not matter for a plain container",
			c:    with(ctr("a", "app", "80/tcp=1"), func(c *Container) { c.Health = "unhealthy" }),
			want: []Service{svc("host1:a:80", "app", "10.0.0.5", 1, nil, nil, nil)},
		},
		{
			name: "-useIpFromLabel, CIDR suffix stripped",
			c:    labels(ctr("a", "app", "80/tcp=1"), "ip=10.9.8.7/24"),
			opts: func(o *Options) { o.UseIPFromLabel = "ip" },
			want: []Service{svc("host1:a:80", "app", "10.9.8.7", 1, nil, nil, nil)},
		},
		{
			name: "NetworkMode container:<id> takes that container's IP",
			c: with(ctr("a", "app", "80/tcp=1"), func(c *Container) {
				c.NetworkMode, c.NetworkContainerIP = "container:abc", "172.17.0.9"
			}),
			want: []Service{svc("host1:a:80", "app", "172.17.0.9", 1, nil, nil, nil)},
		},
		{
			name: "user-defined network: the container's IP on it, published port",
			c: with(ctr("a", "app", "80/tcp=1"), func(c *Container) {
				c.NetworkMode, c.NetworkIPs = "backend", map[string]string{"backend": "10.1.0.3"}
			}),
			want: []Service{svc("host1:a:80", "app", "10.1.0.3", 1, nil, nil, nil)},
		},
		{
			name: "SERVICE_CHECK_HTTP with interval, timeout and method",
			c: env(ctr("a", "app", "80/tcp=1"), "SERVICE_CHECK_HTTP=/health", "SERVICE_CHECK_INTERVAL=5s",
				"SERVICE_CHECK_TIMEOUT=2s", "SERVICE_CHECK_HTTP_METHOD=HEAD"),
			want: []Service{svc("host1:a:80", "app", "10.0.0.5", 1, nil, map[string]string{
				"check_http": "/health", "check_interval": "5s", "check_timeout": "2s", "check_http_method": "HEAD",
			}, &Check{HTTP: "http://10.0.0.5:1/health", Method: "HEAD", Interval: "5s", Timeout: "2s"})},
		},
		{
			name: "SERVICE_CHECK_HTTPS with skip-verify, default interval",
			c:    env(ctr("a", "app", "443/tcp=2"), "SERVICE_CHECK_HTTPS=/h", "SERVICE_CHECK_TLS_SKIP_VERIFY=true"),
			want: []Service{svc("host1:a:443", "app", "10.0.0.5", 2, nil, map[string]string{
				"check_https": "/h", "check_tls_skip_verify": "true",
			}, &Check{HTTP: "https://10.0.0.5:2/h", TLSSkipVerify: true, Interval: "10s"})},
		},
		{
			name: "HTTP wins over TCP; initial status and deregister-after",
			c: env(ctr("a", "app", "80/tcp=1"), "SERVICE_CHECK_TCP=true", "SERVICE_CHECK_HTTP=/",
				"SERVICE_CHECK_INITIAL_STATUS=passing", "SERVICE_CHECK_DEREGISTER_AFTER=10m"),
			want: []Service{svc("host1:a:80", "app", "10.0.0.5", 1, nil, map[string]string{
				"check_tcp": "true", "check_http": "/", "check_initial_status": "passing", "check_deregister_after": "10m",
			}, &Check{HTTP: "http://10.0.0.5:1/", Interval: "10s", Status: "passing", DeregisterCriticalServiceAfter: "10m"})},
		},
		{
			name: "SERVICE_80_CHECK_TCP on the registered address",
			c:    env(ctr("a", "app", "80/tcp=1"), "SERVICE_80_CHECK_TCP=true", "SERVICE_80_CHECK_TIMEOUT=1s"),
			want: []Service{svc("host1:a:80", "app", "10.0.0.5", 1, nil, map[string]string{
				"check_tcp": "true", "check_timeout": "1s",
			}, &Check{TCP: "10.0.0.5:1", Timeout: "1s", Interval: "10s"})},
		},
		{
			name: "SERVICE_CHECK_TTL has no interval",
			c:    env(ctr("a", "app", "80/tcp=1"), "SERVICE_CHECK_TTL=30s", "SERVICE_CHECK_INTERVAL=5s"),
			want: []Service{svc("host1:a:80", "app", "10.0.0.5", 1, nil, map[string]string{
				"check_ttl": "30s", "check_interval": "5s",
			}, &Check{TTL: "30s"})},
		},
		{
			name: "SERVICE_CHECK_SCRIPT with $SERVICE_IP and $SERVICE_PORT",
			c:    env(ctr("a", "app", "80/tcp=1"), "SERVICE_CHECK_SCRIPT=nc $SERVICE_IP $SERVICE_PORT | grep OK"),
			want: []Service{svc("host1:a:80", "app", "10.0.0.5", 1, nil, map[string]string{
				"check_script": "nc $SERVICE_IP $SERVICE_PORT | grep OK",
			}, &Check{Args: []string{"/bin/sh", "-c", "nc 10.0.0.5 1 | grep OK"}, Interval: "10s"})},
		},
		{
			name: "SERVICE_CHECK_CMD uses check-cmd with short id and exposed port",
			c:    env(ctr("a", "app", "80/tcp=1"), "SERVICE_CHECK_CMD=/bin/true"),
			want: []Service{svc("host1:a:80", "app", "10.0.0.5", 1, nil, map[string]string{
				"check_cmd": "/bin/true",
			}, &Check{Args: []string{"check-cmd", testID[:12], "80", "/bin/true"}, Interval: "10s"})},
		},
		{
			name: "SERVICE_CHECK_GRPC with TLS",
			c:    env(ctr("a", "app", "90/tcp=3"), "SERVICE_CHECK_GRPC=true", "SERVICE_CHECK_GRPC_USE_TLS=1"),
			want: []Service{svc("host1:a:90", "app", "10.0.0.5", 3, nil, map[string]string{
				"check_grpc": "true", "check_grpc_use_tls": "1",
			}, &Check{GRPC: "10.0.0.5:3", GRPCUseTLS: true, Interval: "10s"})},
		},
		{
			name: "check attributes without a check kind build nothing and say so",
			c:    env(ctr("a", "app", "80/tcp=1"), "SERVICE_CHECK_INTERVAL=5s"),
			want: []Service{svc("host1:a:80", "app", "10.0.0.5", 1, nil, map[string]string{
				"check_interval": "5s",
			}, nil)},
			skips: []string{"no check built"},
		},
		{
			name: "Berth container: Meta, HAPROXY labels of its port index, tag, health check of port 0",
			c: labels(nginx, append(berthLabels, "berth.health.0.protocol=HTTP", "berth.health.0.path=/health",
				"berth.health.0.port-index=0", "berth.health.0.interval=2", "berth.health.0.timeout=1")...),
			want: []Service{
				svc("host1:web:80", "nginx-80", "10.0.0.5", 32768, []string{"berth"},
					berthMeta("0", "10001", "HAPROXY_0_VHOST=shop.example.com", "berth_check_protocol=HTTP",
						"berth_check_path=/health", "berth_check_interval=2", "berth_check_timeout=1"),
					&Check{HTTP: "http://10.0.0.5:32768/health", Interval: "2s", Timeout: "1s"}),
				svc("host1:web:443", "nginx-443", "10.0.0.5", 32769, []string{"berth"},
					berthMeta("1", "10002", "HAPROXY_1_MODE=tcp"),
					&Check{HTTP: "http://10.0.0.5:32768/health", Interval: "2s", Timeout: "1s"}),
			},
		},
		{
			name: "Berth: first usable health check, on the port it names; MESOS_TCP alias",
			c: labels(ctr("w", "hello", "80/tcp=5000"), "berth.task-id=t.1", "berth.port.0.container=80",
				"berth.port.0.service=10000", "berth.health.0.protocol=COMMAND", "berth.health.1.protocol=MESOS_TCP"),
			want: []Service{svc("host1:w:80", "hello", "10.0.0.5", 5000, []string{"berth"},
				map[string]string{MetaTask: "t.1", MetaApp: "", MetaVersion: "", MetaAgent: "", MetaPortIndex: "0", MetaServicePort: "10000",
					MetaCheckProtocol: "TCP"},
				&Check{TCP: "10.0.0.5:5000", Interval: "10s"})},
		},
		{
			name: "Berth: COMMAND only means no check, with a note",
			c: labels(ctr("w", "hello", "80/tcp=5000"), "berth.task-id=t.1", "berth.port.0.container=80",
				"berth.health.0.protocol=COMMAND"),
			want: []Service{svc("host1:w:80", "hello", "10.0.0.5", 5000, []string{"berth"},
				map[string]string{MetaTask: "t.1", MetaApp: "", MetaVersion: "", MetaAgent: "", MetaPortIndex: "0"}, nil)},
			skips: []string{"no Consul equivalent"},
		},
		{
			name: "Berth: SERVICE_CHECK_* wins over berth.health",
			c: labels(ctr("w", "hello", "80/tcp=5000"), "berth.task-id=t.1", "berth.port.0.container=80",
				"berth.health.0.protocol=HTTP", "SERVICE_CHECK_TCP=true"),
			want: []Service{svc("host1:w:80", "hello", "10.0.0.5", 5000, []string{"berth"},
				map[string]string{MetaTask: "t.1", MetaApp: "", MetaVersion: "", MetaAgent: "", MetaPortIndex: "0", "check_tcp": "true",
					MetaCheckProtocol: "HTTP", MetaCheckPath: "/"},
				&Check{TCP: "10.0.0.5:5000", Interval: "10s"})},
		},
		{
			name: "Berth: HTTPS health check skips certificate verification; path gets a slash",
			c: labels(ctr("w", "hello", "443/tcp=5001"), "berth.task-id=t.1", "berth.port.0.container=443",
				"berth.health.0.protocol=HTTPS", "berth.health.0.path=ready", "berth.health.0.interval=1500ms"),
			want: []Service{svc("host1:w:443", "hello", "10.0.0.5", 5001, []string{"berth"},
				map[string]string{MetaTask: "t.1", MetaApp: "", MetaVersion: "", MetaAgent: "", MetaPortIndex: "0",
					MetaCheckProtocol: "HTTPS", MetaCheckPath: "/ready"},
				&Check{HTTP: "https://10.0.0.5:5001/ready", TLSSkipVerify: true, Interval: "1.5s"})},
		},
		{
			name: "Berth: cluster id and every berth_check_* key of the port's health check",
			c: labels(ctr("w", "hello", "80/tcp=5000"), "berth.task-id=t.1", "berth.port.0.container=80",
				"berth.cluster-id=c-1", "berth.health.0.protocol=HTTP", "berth.health.0.path=/hc",
				"berth.health.0.port-index=0", "berth.health.0.interval=3", "berth.health.0.timeout=2",
				"berth.health.0.grace=30", "berth.health.0.max-failures=4"),
			want: []Service{svc("host1:w:80", "hello", "10.0.0.5", 5000, []string{"berth"},
				map[string]string{MetaTask: "t.1", MetaApp: "", MetaVersion: "", MetaAgent: "", MetaPortIndex: "0",
					MetaCluster: "c-1", MetaCheckProtocol: "HTTP", MetaCheckPath: "/hc", MetaCheckInterval: "3",
					MetaCheckTimeout: "2", MetaCheckGrace: "30", MetaCheckMaxFailures: "4"},
				&Check{HTTP: "http://10.0.0.5:5000/hc", Interval: "3s", Timeout: "2s"})},
		},
		{
			name: "Berth host network: ports from berth.port.<i>.container, no EXPOSE needed",
			c: labels(with(ctr("h", "hello"), func(c *Container) { c.NetworkMode, c.IP = "host", "" }),
				"berth.task-id=t.1", "berth.port.0.container=31005", "berth.port.0.service=10005"),
			want: []Service{svc("host1:h:31005", "hello", "10.0.0.5", 31005, []string{"berth"},
				map[string]string{MetaTask: "t.1", MetaApp: "", MetaVersion: "", MetaAgent: "", MetaPortIndex: "0", MetaServicePort: "10005"}, nil)},
		},
		{
			name: "Berth: a port without a port index has no berth_port_index",
			c: labels(ctr("w", "hello", "9090/tcp=5002"), "berth.task-id=t.1", "berth.port.0.container=80",
				"SERVICE_TAGS=metrics"),
			want: []Service{svc("host1:w:9090", "hello", "10.0.0.5", 5002, []string{"metrics", "berth"},
				map[string]string{MetaTask: "t.1", MetaApp: "", MetaVersion: "", MetaAgent: ""}, nil)},
		},
		{
			name: "Berth: not registered until Docker says healthy",
			c: with(labels(ctr("w", "hello", "80/tcp=5000"), "berth.task-id=t.1"), func(c *Container) {
				c.Health = "starting"
			}),
			skips: []string{"Docker health is starting"},
		},
		{
			name: "Berth: malformed labels are reported",
			c: labels(ctr("w", "hello", "80/tcp=5000"), "berth.task-id=t.1", "berth.port.x.container=80",
				"berth.health.0.interval=soon"),
			want: []Service{svc("host1:w:80", "hello", "10.0.0.5", 5000, []string{"berth"},
				map[string]string{MetaTask: "t.1", MetaApp: "", MetaVersion: "", MetaAgent: ""}, nil)},
			skips: []string{"berth.port.x.container", "interval \"soon\""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := baseOpts
			if tt.opts != nil {
				tt.opts(&opts)
			}
			got, skips := ServicesFor(tt.c, opts)
			for i := range got {
				if fp := got[i].Meta[MetaFingerprint]; fp != Fingerprint(got[i]) || len(fp) != 16 {
					t.Errorf("service %s: fingerprint %q is not Fingerprint(service)", got[i].ID, fp)
				}
				delete(got[i].Meta, MetaFingerprint)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("services:\n got %s\nwant %s", dump(got), dump(tt.want))
			}
			checkSkips(t, skips, tt.skips)
		})
	}
}

func checkSkips(t *testing.T, got []Skip, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("skips: got %d %+v, want %d %q", len(got), got, len(want), want)
		return
	}
	// Order of skips follows ports, then notes; match as a multiset.
	used := make([]bool, len(got))
	for _, w := range want {
		found := false
		for i, s := range got {
			if !used[i] && strings.Contains(s.Reason, w) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			t.Errorf("no skip mentions %q in %+v", w, got)
		}
	}
}

func dump(ss []Service) string {
	var b strings.Builder
	for _, s := range ss {
		fmt.Fprintf(&b, "\n  %s name=%s %s:%d tags=%q meta=%v check=%+v", s.ID, s.Name, s.Address, s.Port, s.Tags, s.Meta, s.Check)
	}
	return b.String()
}

func TestMetaLimit(t *testing.T) {
	c := ctr("a", "app", "80/tcp=1")
	for i := 0; i < 80; i++ {
		c.Env = append(c.Env, fmt.Sprintf("SERVICE_K%02d=v", i))
	}
	got, skips := ServicesFor(c, baseOpts)
	if len(got) != 1 {
		t.Fatalf("got %d services", len(got))
	}
	if n := len(got[0].Meta); n != 64 {
		t.Errorf("meta has %d pairs, want exactly Consul's limit 64", n)
	}
	// Owner, container and fingerprint leave 61 attributes: k00..k60 kept.
	if got[0].Meta["k60"] != "v" || got[0].Meta["k61"] != "" {
		t.Errorf("kept the wrong attributes: k60=%q k61=%q", got[0].Meta["k60"], got[0].Meta["k61"])
	}
	if len(skips) != 19 || !strings.Contains(skips[0].Reason, "at most 64") {
		t.Errorf("want 19 skips about the limit, got %d: %+v", len(skips), skips[:min(len(skips), 2)])
	}
}

func TestFingerprintChangesWithEveryField(t *testing.T) {
	base := Service{ID: "a", Name: "n", Address: "1.2.3.4", Port: 1, Tags: []string{"t"},
		Meta: map[string]string{"k": "v"}, Check: &Check{HTTP: "http://x/"}}
	fp := Fingerprint(base)
	mutations := map[string]func(*Service){
		"name":    func(s *Service) { s.Name = "m" },
		"address": func(s *Service) { s.Address = "1.2.3.5" },
		"port":    func(s *Service) { s.Port = 2 },
		"tags":    func(s *Service) { s.Tags = []string{"u"} },
		"meta":    func(s *Service) { s.Meta = map[string]string{"k": "w"} },
		"check":   func(s *Service) { s.Check = &Check{HTTP: "http://y/"} },
		"nocheck": func(s *Service) { s.Check = nil },
	}
	for name, mut := range mutations {
		s := base
		mut(&s)
		if Fingerprint(s) == fp {
			t.Errorf("changing %s kept the fingerprint", name)
		}
	}
	withFP := base
	withFP.Meta = map[string]string{"k": "v", MetaFingerprint: "old"}
	if Fingerprint(withFP) != fp {
		t.Errorf("the fingerprint key itself must not count")
	}
}

func TestSplitTags(t *testing.T) {
	tests := map[string][]string{
		"":          nil,
		"a":         {"a"},
		"a,b":       {"a", "b"},
		",a,,b,":    {"a", "b"},
		`a\,b,c`:    {"a,b", "c"},
		`x\y`:       {`x\y`},
		"a, b":      {"a", " b"},
		`trail\`:    {`trail\`},
		`\,lead`:    {",lead"},
		"k=v,other": {"k=v", "other"},
	}
	for in, want := range tests {
		if got := splitTags(in); !reflect.DeepEqual(got, want) {
			t.Errorf("splitTags(%q) = %q, want %q", in, got, want)
		}
	}
}
