package registrator

import (
	"net"
	"strconv"
	"strings"
)

// DefaultCheckInterval is registrator's interval for non-TTL checks.
const DefaultCheckInterval = "10s"

// checkFromAttrs builds the service's check from SERVICE_[<port>_]CHECK_*
// attributes, registrator's way: the first of HTTP, HTTPS, CMD, SCRIPT, TTL,
// TCP, GRPC that is set wins; the check targets the registered address.
// The check_* attributes stay in Meta too, as registrator sends them.
func checkFromAttrs(attrs map[string]string, c Container, p port, addr string, portNum int) (*Check, []string) {
	target := net.JoinHostPort(addr, strconv.Itoa(portNum))
	ck := &Check{}
	var notes []string
	switch {
	case attrs["check_http"] != "":
		ck.HTTP = "http://" + target + attrs["check_http"]
		ck.Timeout = attrs["check_timeout"]
		ck.Method = attrs["check_http_method"]
	case attrs["check_https"] != "":
		ck.HTTP = "https://" + target + attrs["check_https"]
		ck.Timeout = attrs["check_timeout"]
		ck.Method = attrs["check_https_method"]
		ck.TLSSkipVerify = attrs["check_tls_skip_verify"] != ""
	case attrs["check_cmd"] != "":
		// Needs registrator's check-cmd helper on the Consul agent.
		ck.Args = []string{"check-cmd", shortID(c.ID), p.exposed, attrs["check_cmd"]}
	case attrs["check_script"] != "":
		script := strings.ReplaceAll(attrs["check_script"], "$SERVICE_IP", addr)
		script = strings.ReplaceAll(script, "$SERVICE_PORT", strconv.Itoa(portNum))
		// Run through a shell, as the documented examples ("nc … | grep OK")
		// require; needs enable_script_checks on the agent.
		ck.Args = []string{"/bin/sh", "-c", script}
	case attrs["check_ttl"] != "":
		ck.TTL = attrs["check_ttl"]
	case attrs["check_tcp"] != "":
		ck.TCP = target
		ck.Timeout = attrs["check_timeout"]
	case attrs["check_grpc"] != "":
		ck.GRPC = target
		ck.Timeout = attrs["check_timeout"]
		if attrs["check_grpc_use_tls"] != "" {
			ck.GRPCUseTLS = true
			ck.TLSSkipVerify = attrs["check_tls_skip_verify"] != ""
		}
	default:
		for k := range attrs {
			if strings.HasPrefix(k, "check_") && k != "check_initial_status" {
				notes = append(notes, "no check built: "+k+" needs one of check_http, check_https, check_cmd, check_script, check_ttl, check_tcp, check_grpc")
				break
			}
		}
		return nil, notes
	}
	if ck.TTL == "" {
		ck.Interval = attrs["check_interval"]
		if ck.Interval == "" {
			ck.Interval = DefaultCheckInterval
		}
	}
	ck.Status = attrs["check_initial_status"]
	ck.DeregisterCriticalServiceAfter = attrs["check_deregister_after"]
	return ck, notes
}
