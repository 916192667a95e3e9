package lbsync

import (
	"errors"
	"fmt"
	"strings"
)

// Meta keys of the port's first Marathon HTTP/HTTPS/TCP health check, as
// the registrator writes them (DESIGN.md).
const (
	MetaCheckProtocol    = "berth_check_protocol"
	MetaCheckPath        = "berth_check_path"
	MetaCheckInterval    = "berth_check_interval"
	MetaCheckTimeout     = "berth_check_timeout"
	MetaCheckMaxFailures = "berth_check_max_failures"
	MetaCheckGrace       = "berth_check_grace"
)

// HealthCheck is a Marathon health check rendered as HAProxy's own check
// of every server of the backend, as marathon-lb renders it: TCP → `check
// inter <interval>s fall <n>`; HTTP(S) → also `option httpchk GET <path>`
// and `timeout check <timeout>s` (HTTPS: `check-ssl verify none`). HAProxy
// then stops sending to a failing server after Fall failed checks, on its
// own, before Consul's check (which the registrator mirrors) reports it.
type HealthCheck struct {
	Protocol string `json:"protocol"`       // HTTP, HTTPS or TCP
	Path     string `json:"path,omitempty"` // HTTP(S) only
	Interval int    `json:"intervalSeconds"`
	Timeout  int    `json:"timeoutSeconds"`
	// Fall is maxConsecutiveFailures (at least 1): that many failed
	// checks in a row take the server out.
	Fall int `json:"fall"`
}

// parseCheck reads the berth_check_* meta; nil when there is none or it is
// invalid (then with a warning; the service is routed without checks).
func parseCheck(meta map[string]string, warn func(string, ...any)) *HealthCheck {
	proto, ok := meta[MetaCheckProtocol]
	if !ok || proto == "" {
		return nil
	}
	c := &HealthCheck{Protocol: strings.ToUpper(proto), Interval: 60, Timeout: 20, Fall: 3}
	if c.Protocol != "HTTP" && c.Protocol != "HTTPS" && c.Protocol != "TCP" {
		warn("%s %s rejected: not HTTP, HTTPS or TCP; no HAProxy check", MetaCheckProtocol, quoteValue(proto))
		return nil
	}
	num := func(key string, lo, hi int, dst *int) bool {
		v, ok := meta[key]
		if !ok || v == "" {
			return true
		}
		n, err := parseNumber(v, lo, hi)
		if err != nil {
			warn("%s %s rejected: %v; no HAProxy check", key, quoteValue(v), err)
			return false
		}
		*dst = n
		return true
	}
	maxFailures := c.Fall
	if !num(MetaCheckInterval, 1, 86400, &c.Interval) || !num(MetaCheckTimeout, 1, 86400, &c.Timeout) ||
		!num(MetaCheckMaxFailures, 0, 1000, &maxFailures) {
		return nil
	}
	c.Fall = max(maxFailures, 1) // Marathon's 0 means "never kill"; HAProxy needs at least one
	if c.Protocol == "TCP" {
		return c
	}
	c.Path = "/"
	if p, ok := meta[MetaCheckPath]; ok && p != "" {
		if err := checkRequestPath(p); err != nil {
			warn("%s %s rejected: %v; no HAProxy check", MetaCheckPath, quoteValue(p), err)
			return nil
		}
		c.Path = p
	}
	return c
}

// checkRequestPath accepts an absolute request path with an optional
// query: unreserved characters plus "/@:+?=&,;!*'()" minus the quote —
// nothing HAProxy's config parser or log-format would interpret.
func checkRequestPath(p string) error {
	if p == "" || p[0] != '/' {
		return errors.New("a path starts with '/'")
	}
	if len(p) > 1024 {
		return errors.New("a path has at most 1024 characters")
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(isAlnum(c) || strings.IndexByte("/-._~@:+?=&,!*()", c) >= 0) {
			return fmt.Errorf("character %q is not allowed in a check path", c)
		}
	}
	return nil
}
