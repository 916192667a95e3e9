package lbsync

import (
	"fmt"
	"strconv"
)

// inst is a Berth instance of app on servicePort sp (port index 0) at
// addr:port, with extra meta as key, value pairs.
func inst(app string, sp int, addr string, port int, kv ...string) Instance {
	meta := map[string]string{
		MetaApp:         app,
		MetaTask:        fmt.Sprintf("%s.%d", sanitizeName(app), port),
		MetaVersion:     "2026-01-01T00:00:00.000Z",
		MetaPortIndex:   "0",
		MetaServicePort: strconv.Itoa(sp),
	}
	for i := 0; i+1 < len(kv); i += 2 {
		meta[kv[i]] = kv[i+1]
	}
	name := sanitizeName(app)
	return Instance{
		Service: name, ID: fmt.Sprintf("node1:berth-%s:%d", name, port), Node: "node1",
		Address: addr, Port: port, Tags: []string{"berth"}, Meta: meta,
	}
}

// fixtures are the golden-file cases: each is rendered with both templates.
func fixtures() map[string]Snapshot {
	return map[string]Snapshot{
		"empty": {},
		"tcp": {Instances: []Instance{
			inst("/db/redis", 10001, "10.0.0.2", 31002),
			inst("/db/redis", 10001, "10.0.0.1", 31001),
		}},
		"vhosts": {Instances: []Instance{
			inst("/web", 10002, "10.0.0.1", 31010, "HAPROXY_0_VHOST", "Web.Example.com,www.example.com"),
			inst("/web", 10002, "10.0.0.2", 31011, "HAPROXY_0_VHOST", "Web.Example.com,www.example.com"),
			inst("/api", 10003, "10.0.0.3", 31020, "HAPROXY_0_VHOST", "www.example.com", "HAPROXY_0_PATH", "/api,/v2/api",
				"HAPROXY_0_BALANCE", "leastconn", "HAPROXY_0_STICKY", "true"),
			inst("/home", 80, "10.0.0.4", 31030),
			inst("/secure", 10004, "10.0.0.5", 31040, "HAPROXY_0_VHOST", "secure.example.com", "HAPROXY_0_REDIRECT_TO_HTTPS", "true"),
		}},
		"groups": {Instances: []Instance{
			inst("/public", 10005, "10.0.0.1", 31050),
			inst("/internal", 10006, "10.0.0.2", 31060, MetaGroup, "internal"),
			inst("/mixed", 10007, "10.0.0.3", 31070, MetaGroup, "internal", "HAPROXY_0_GROUP", "external"),
		}},
		"hostile": {Instances: hostileInstances()},
		// Marathon health checks as HAProxy checks, and Consul weights.
		"checks": {Instances: []Instance{
			inst("/web", 10020, "10.0.0.1", 31200, MetaCheckProtocol, "HTTP", MetaCheckPath, "/health", MetaCheckInterval, "2",
				MetaCheckTimeout, "1", MetaCheckMaxFailures, "2"),
			func() Instance {
				in := inst("/web", 10020, "10.0.0.2", 31201, MetaCheckProtocol, "HTTP", MetaCheckPath, "/health", MetaCheckInterval, "2",
					MetaCheckTimeout, "1", MetaCheckMaxFailures, "2")
				in.Weight = 3
				return in
			}(),
			inst("/db", 10021, "10.0.0.3", 31202, MetaCheckProtocol, "TCP", MetaCheckInterval, "5", MetaCheckMaxFailures, "3"),
			inst("/tls", 10022, "10.0.0.4", 31203, MetaCheckProtocol, "HTTPS", MetaCheckPath, "/ping"),
		}},
		// marathon-lb's labels beyond the basic set, blue/green and a
		// rejected template override.
		"labels": labelFixture(),
		// Services without a ready instance keep their frontends: HTTP
		// answers 503 (HAProxy: no server; nginx: return 503), TCP closes.
		"emptybackends": {Instances: []Instance{
			withStatus(inst("/web", 10010, "10.0.0.1", 31100, "HAPROXY_0_VHOST", "web.example.com"), StatusCritical, "http check: connection refused"),
			withStatus(inst("/db", 10011, "10.0.0.2", 31101), StatusMaintenance, "drain"),
			withStatus(inst("/home", 80, "10.0.0.3", 31102), StatusWarning, "starting"),
			inst("/api", 10012, "10.0.0.4", 31103, "HAPROXY_0_VHOST", "api.example.com"),
		}},
	}
}

// hostileValues are label values that try to smuggle configuration text
// into haproxy.cfg or nginx.conf. None may reach a rendered file.
func hostileValues() []string {
	return []string{
		"evil.com\n    use_backend pwned",
		"evil.com\r\nbind :1",
		"evil.com }\nserver x 1.2.3.4:80",
		"evil.com; include /etc/passwd;",
		"evil.com # comment",
		"evil.com bind :6666",
		`"evil.com"`,
		"'evil.com'",
		"evil.com\x00",
		"evil.com\ttab",
		"ev{il}.com",
		"$host",
		"%[req.hdr(host)]",
		"evil.com\\n",
		"-evil.com",
		"evil..com",
		"*.evil.com",
		"évil.com",
		"evil.com/path",
		"roundrobin\n    server pwned 6.6.6.6:80",
		"leastconn # x",
		"/api; return 200 pwned;",
		"/api\n}\nserver {",
		"/api{",
		"/a b",
		"/a#b",
		"api_v2",
		"10001\n",
		"true\nstats enable",
		"/etc/ssl/x.pem crt /etc/shadow",
		"../../etc/shadow",
	}
}

// hostileInstances puts every hostile value into every label of its own
// app, plus hostile addresses, ports and servicePorts.
func hostileInstances() []Instance {
	var out []Instance
	for i, v := range hostileValues() {
		kv := []string{MetaPortIndex, "0"}
		for _, k := range hostileLabelKeys() {
			kv = append(kv, k, v)
		}
		out = append(out, inst(fmt.Sprintf("/hostile%d", i), 11000+i, "10.1.0.1", 32000+i, kv...))
	}
	bad := inst("/badport", 12000, "10.1.0.1", 32100)
	bad.Meta[MetaServicePort] = "12000\n    bind :22"
	badAddr := inst("/badaddr", 12001, "10.1.0.1\n    server x 6.6.6.6:1", 32101)
	badName := inst("/app\n    bind :23 #", 12002, "10.1.0.2", 32102)
	badIdx := inst("/badidx", 12003, "10.1.0.3", 32103)
	badIdx.Meta[MetaPortIndex] = "0 1"
	hostName := inst("/hostname", 12004, "evil.example.com", 32104)
	return append(out, bad, badAddr, badName, badIdx, hostName)
}

func withStatus(in Instance, status, check string) Instance {
	in.Status, in.Check = status, check
	return in
}

// hostileLabelKeys are the labels TestHostileLabelsNeverReachConfigs fills
// with every hostile value.
func hostileLabelKeys() []string {
	return []string{"HAPROXY_0_VHOST", "HAPROXY_0_PATH", "HAPROXY_0_BALANCE", "HAPROXY_0_MODE",
		"HAPROXY_0_STICKY", "HAPROXY_0_SSL_CERT", "HAPROXY_0_REDIRECT_TO_HTTPS", "HAPROXY_0_PORT", "HAPROXY_0_BIND_ADDR",
		"HAPROXY_0_BIND_OPTIONS", "HAPROXY_0_AUTH", "HAPROXY_0_USE_HSTS", "HAPROXY_0_BACKEND_WEIGHT",
		"HAPROXY_0_HTTP_BACKEND_PROXYPASS_PATH", "HAPROXY_0_HTTP_BACKEND_REVPROXY_PATH", "HAPROXY_0_HTTP_BACKEND_REDIR",
		"HAPROXY_0_ENABLED", "HAPROXY_0_TIMEOUT_SERVER", "HAPROXY_0_TIMEOUT_CONNECT", "HAPROXY_0_MAXCONN"}
}

// testAuthHash is `openssl passwd -6 -salt berthsalt s3cret`.
const testAuthHash = "$6$berthsalt$4lRmfH01vZzypF5CCzr24v5M/STgnupX7OQcYet1gvsdPNY6gT3S751Etiv5dybG0fOsvoYavsUru1A2fk9x30"

func labelFixture() Snapshot {
	return Snapshot{Instances: []Instance{
		inst("/bind", 10030, "10.0.0.1", 31300, "HAPROXY_0_PORT", "10130", "HAPROXY_0_BIND_ADDR", "127.0.0.2",
			"HAPROXY_0_BIND_OPTIONS", "defer-accept maxconn 500", "HAPROXY_0_TIMEOUT_SERVER", "90s",
			"HAPROXY_0_TIMEOUT_CONNECT", "2s", "HAPROXY_0_MAXCONN", "64"),
		inst("/secret", 10031, "10.0.0.2", 31301, "HAPROXY_0_VHOST", "secret.example.com",
			"HAPROXY_0_AUTH", "berth:admin:"+testAuthHash, "HAPROXY_0_USE_HSTS", "true"),
		inst("/app", 10032, "10.0.0.3", 31302, "HAPROXY_0_VHOST", "www.example.com", "HAPROXY_0_PATH", "/app",
			"HAPROXY_0_HTTP_BACKEND_PROXYPASS_PATH", "/app", "HAPROXY_0_HTTP_BACKEND_REVPROXY_PATH", "/app"),
		inst("/site", 10033, "10.0.0.4", 31303, "HAPROXY_0_VHOST", "www.example.com", "HAPROXY_0_HTTP_BACKEND_REDIR", "/home.html"),
		inst("/heavy", 10034, "10.0.0.5", 31304, "HAPROXY_0_VHOST", "www.example.com", "HAPROXY_0_PATH", "/app/v2",
			"HAPROXY_0_BACKEND_WEIGHT", "5"),
		inst("/off", 10035, "10.0.0.6", 31305, "HAPROXY_0_ENABLED", "false"),
		inst("/tmpl", 10036, "10.0.0.7", 31306, "HAPROXY_0_BACKEND_HEAD", "backend x\n  server evil 6.6.6.6:1"),
		// Blue/green: the new colour runs on the alt port with
		// HAPROXY_0_PORT naming the group's port (zdd.py).
		inst("/shop-blue", 10040, "10.0.0.8", 31307, MetaDeploymentGroup, "shop", "HAPROXY_DEPLOYMENT_ALT_PORT", "10041",
			"HAPROXY_0_VHOST", "shop.example.com"),
		inst("/shop-green", 10041, "10.0.0.9", 31308, MetaDeploymentGroup, "shop", "HAPROXY_DEPLOYMENT_ALT_PORT", "10040",
			"HAPROXY_0_PORT", "10040", "HAPROXY_0_VHOST", "shop.example.com"),
	}}
}
