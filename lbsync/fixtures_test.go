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
		out = append(out, inst(fmt.Sprintf("/hostile%d", i), 11000+i, "10.1.0.1", 32000+i,
			"HAPROXY_0_VHOST", v, "HAPROXY_0_PATH", v, "HAPROXY_0_BALANCE", v, "HAPROXY_0_MODE", v,
			"HAPROXY_0_STICKY", v, "HAPROXY_0_SSL_CERT", v, "HAPROXY_0_REDIRECT_TO_HTTPS", v,
			MetaPortIndex, "0"))
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
