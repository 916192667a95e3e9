package lbsync

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Label values are data, never configuration text. Every parser below
// accepts only the exact shape the value claims to have (a host name, a
// path, a number, an algorithm name) and rejects everything else; what a
// parser returns is safe to render in HAProxy and nginx configs because it
// contains no whitespace, quotes, '#', ';', braces, '$', '%', '\' or
// control characters.

var errNotNumber = errors.New("not a decimal number")

// balanceAlgorithms are the HAProxy algorithms HAPROXY_<i>_BALANCE may name.
func balanceAlgorithms() []string {
	return []string{"first", "leastconn", "random", "roundrobin", "source", "static-rr", "uri"}
}

// applyLabels reads the HAPROXY_<i>_* labels of the port's config instance
// into svc. isHTTPPort forces mode http (the service is the HTTP frontend's
// default backend).
func applyLabels(svc *Service, meta map[string]string, isHTTPPort bool, warn func(string, ...any)) {
	idx := svc.PortIndex
	get := func(name string) (string, string, bool) {
		k := labelKey(idx, name)
		v, ok := meta[k]
		return k, v, ok
	}
	svc.Mode, svc.Balance = "tcp", "roundrobin"
	if k, v, ok := get("MODE"); ok {
		switch m := strings.ToLower(v); m {
		case "tcp", "http":
			svc.Mode = m
		default:
			warn("%s %s rejected: not tcp or http", k, quoteValue(v))
		}
	}
	if k, v, ok := get("BALANCE"); ok {
		if b := strings.ToLower(v); slices.Contains(balanceAlgorithms(), b) {
			svc.Balance = b
		} else {
			warn("%s %s rejected: not one of %s", k, quoteValue(v), strings.Join(balanceAlgorithms(), ", "))
		}
	}
	svc.Sticky = boolLabel(get, "STICKY", warn)
	svc.RedirectToHTTPS = boolLabel(get, "REDIRECT_TO_HTTPS", warn)
	if k, v, ok := get("SSL_CERT"); ok && v != "" {
		if err := checkFilePath(v); err != nil {
			warn("%s %s rejected: %v", k, quoteValue(v), err)
		} else {
			svc.SSLCert = v
		}
	}
	if k, v, ok := get("VHOST"); ok && v != "" {
		for _, h := range strings.Split(v, ",") {
			host, err := parseHost(h)
			if err != nil {
				warn("%s host %s rejected: %v", k, quoteValue(h), err)
				continue
			}
			if !slices.Contains(svc.VHosts, host) {
				svc.VHosts = append(svc.VHosts, host)
			}
		}
		slices.Sort(svc.VHosts)
	}
	if k, v, ok := get("PATH"); ok && v != "" {
		if len(svc.VHosts) == 0 {
			warn("%s ignored: a path routes only together with a valid %s", k, labelKey(idx, "VHOST"))
		} else {
			svc.Paths = parsePaths(k, v, warn)
		}
	}
	svc.Check = parseCheck(meta, warn)
	if len(svc.VHosts) > 0 || isHTTPPort || (svc.Check != nil && svc.Check.Protocol == "HTTP") {
		svc.Mode = "http" // an HTTP health check makes the port HTTP, as in marathon-lb
	}
	if svc.Mode != "http" && (svc.Sticky || svc.RedirectToHTTPS) {
		warn("%s and %s need mode http; ignored in mode tcp", labelKey(idx, "STICKY"), labelKey(idx, "REDIRECT_TO_HTTPS"))
		svc.Sticky, svc.RedirectToHTTPS = false, false
	}
	applyMoreLabels(svc, meta, warn)
}

func parsePaths(key, v string, warn func(string, ...any)) []string {
	var paths []string
	for _, p := range strings.Split(v, ",") {
		if err := checkPath(p); err != nil {
			warn("%s path %s rejected: %v", key, quoteValue(p), err)
			continue
		}
		if !slices.Contains(paths, p) {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	return paths
}

func boolLabel(get func(string) (string, string, bool), name string, warn func(string, ...any)) bool {
	k, v, ok := get(name)
	if !ok || v == "" {
		return false
	}
	switch strings.ToLower(v) {
	case "true", "1", "yes":
		return true
	case "false", "0", "no":
		return false
	}
	warn("%s %s rejected: not a boolean", k, quoteValue(v))
	return false
}

// parseHost accepts an RFC 1123 host name (letters, digits, '-', dots
// between labels), returned in lower case.
func parseHost(s string) (string, error) {
	h := strings.ToLower(s)
	if h == "" || len(h) > 253 {
		return "", errors.New("a host name has 1 to 253 characters")
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return "", errors.New("each dot-separated label needs 1 to 63 characters")
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "", errors.New("a label cannot start or end with '-'")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", fmt.Errorf("character %q is not allowed in a host name", c)
			}
		}
	}
	return h, nil
}

// checkPath accepts an absolute URL path prefix made of unreserved
// characters plus '/', '@', ':' and '+'.
func checkPath(p string) error {
	if p == "" || p[0] != '/' {
		return errors.New("a path starts with '/'")
	}
	if len(p) > 1024 {
		return errors.New("a path has at most 1024 characters")
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(isAlnum(c) || strings.IndexByte("/-._~@:+", c) >= 0) {
			return fmt.Errorf("character %q is not allowed in a path", c)
		}
	}
	return nil
}

// checkFilePath accepts an absolute file path of name characters.
func checkFilePath(p string) error {
	if p == "" || p[0] != '/' {
		return errors.New("a file path is absolute")
	}
	if len(p) > 4096 {
		return errors.New("a file path has at most 4096 characters")
	}
	if strings.Contains(p, "..") {
		return errors.New("'..' is not allowed")
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(isAlnum(c) || strings.IndexByte("/-._", c) >= 0) {
			return fmt.Errorf("character %q is not allowed in a file path", c)
		}
	}
	return nil
}

func parsePort(s string) (int, error) { return parseNumber(s, 1, 65535) }

// parseNumber accepts only decimal digits (no sign, no spaces) in [lo, hi].
func parseNumber(s string, lo, hi int) (int, error) {
	if s == "" || len(s) > 9 {
		return 0, errNotNumber
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errNotNumber
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, errNotNumber
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("%d out of range %d-%d", n, lo, hi)
	}
	return n, nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// sanitizeName maps s onto [A-Za-z0-9_.-] for use as an HAProxy proxy or
// nginx upstream name; it is only used on values whose identity is kept
// elsewhere (the servicePort is appended).
func sanitizeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(isAlnum(c) || c == '_' || c == '.' || c == '-') {
			b[i] = '_'
		}
	}
	if len(b) > 100 {
		b = b[:100]
	}
	if len(b) == 0 {
		return "app"
	}
	return string(b)
}

// quoteValue shows a rejected value safely in a warning.
func quoteValue(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return strconv.Quote(s)
}
