package lbsync

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// BasicAuth is HAPROXY_{n}_AUTH (marathon-lb's realm:user:passwd-hash):
// requests without these credentials get 401 with the realm.
type BasicAuth struct {
	Realm        string `json:"realm"`
	User         string `json:"user"`
	PasswordHash string `json:"-"` // a crypt(3) hash; never shown
}

// templateLabels are marathon-lb's overridable templates (HAPROXY_{n}_<T>
// or HAPROXY_<T>): each would splice raw configuration text into the
// config, so lbsync rejects them and names the structured equivalent.
func templateLabels() map[string]string {
	timeouts := "HAPROXY_{n}_TIMEOUT_SERVER, _TIMEOUT_CONNECT, _MAXCONN, _BALANCE, _STICKY"
	return map[string]string{
		"BACKEND_HEAD": timeouts, "FRONTEND_HEAD": "HAPROXY_{n}_PORT, _BIND_ADDR, _BIND_OPTIONS, _SSL_CERT, _MODE",
		"BACKEND_HTTP_OPTIONS":             "HAPROXY_{n}_USE_HSTS, _HTTP_BACKEND_PROXYPASS_PATH",
		"BACKEND_HTTP_HEALTHCHECK_OPTIONS": "the app's Marathon health check", "BACKEND_TCP_HEALTHCHECK_OPTIONS": "the app's Marathon health check",
		"BACKEND_SERVER_OPTIONS": "HAPROXY_{n}_MAXCONN", "BACKEND_SERVER_HTTP_HEALTHCHECK_OPTIONS": "the app's Marathon health check",
		"BACKEND_SERVER_TCP_HEALTHCHECK_OPTIONS": "the app's Marathon health check", "BACKEND_STICKY_OPTIONS": "HAPROXY_{n}_STICKY",
		"BACKEND_HSTS_OPTIONS": "HAPROXY_{n}_USE_HSTS", "BACKEND_REDIRECT_HTTP_TO_HTTPS": "HAPROXY_{n}_REDIRECT_TO_HTTPS",
		"BACKEND_REDIRECT_HTTP_TO_HTTPS_WITH_PATH": "HAPROXY_{n}_REDIRECT_TO_HTTPS", "FRONTEND_BACKEND_GLUE": "HAPROXY_{n}_VHOST, _PATH",
		"HTTP_FRONTEND_ACL": "HAPROXY_{n}_VHOST", "HTTP_FRONTEND_ACL_ONLY": "HAPROXY_{n}_VHOST", "HTTP_FRONTEND_ACL_WITH_PATH": "HAPROXY_{n}_VHOST, _PATH",
		"HTTP_FRONTEND_ACL_ONLY_WITH_PATH": "HAPROXY_{n}_VHOST, _PATH", "HTTP_FRONTEND_ACL_WITH_AUTH": "HAPROXY_{n}_AUTH",
		"HTTP_FRONTEND_ACL_WITH_AUTH_AND_PATH": "HAPROXY_{n}_AUTH", "HTTP_FRONTEND_ACL_ONLY_WITH_PATH_AND_AUTH": "HAPROXY_{n}_AUTH",
		"HTTP_FRONTEND_ROUTING_ONLY": "HAPROXY_{n}_VHOST", "HTTP_FRONTEND_ROUTING_ONLY_WITH_PATH": "HAPROXY_{n}_VHOST, _PATH",
		"HTTP_FRONTEND_ROUTING_ONLY_WITH_AUTH": "HAPROXY_{n}_AUTH", "HTTP_FRONTEND_ROUTING_ONLY_WITH_PATH_AND_AUTH": "HAPROXY_{n}_AUTH",
		"HTTPS_FRONTEND_ACL": "HAPROXY_{n}_VHOST, _SSL_CERT", "HTTPS_FRONTEND_ACL_WITH_PATH": "HAPROXY_{n}_VHOST, _PATH",
		"HTTPS_FRONTEND_ACL_ONLY_WITH_PATH": "HAPROXY_{n}_VHOST, _PATH", "HTTP_FRONTEND_APPID_ACL": "HAPROXY_{n}_VHOST",
		"HTTP_BACKEND_PROXYPASS_GLUE": "HAPROXY_{n}_HTTP_BACKEND_PROXYPASS_PATH", "HTTP_BACKEND_REVPROXY_GLUE": "HAPROXY_{n}_HTTP_BACKEND_REVPROXY_PATH",
		"HTTP_BACKEND_NETWORK_ALLOWED_ACL": "none yet", "TCP_BACKEND_NETWORK_ALLOWED_ACL": "none yet",
		"BACKEND_NETWORK_ALLOWED_ACL": "none yet", "USERLIST_HEAD": "HAPROXY_{n}_AUTH",
		"MAP_HTTP_FRONTEND_ACL": "HAPROXY_{n}_VHOST", "MAP_HTTP_FRONTEND_ACL_ONLY": "HAPROXY_{n}_VHOST",
		"MAP_HTTPS_FRONTEND_ACL": "HAPROXY_{n}_VHOST", "MAP_HTTP_FRONTEND_APPID_ACL": "HAPROXY_{n}_VHOST",
		"HEAD": "lbsync's own flags", "HTTP_FRONTEND_HEAD": "lbsync's own flags", "HTTPS_FRONTEND_HEAD": "lbsync's own flags",
		"HTTP_FRONTEND_APPID_HEAD": "lbsync's own flags",
	}
}

// appLevelLabels are HAPROXY_<name> labels that are not templates.
func appLevelLabels() []string {
	return []string{"GROUP", "DEPLOYMENT_GROUP", "DEPLOYMENT_ALT_PORT", "DEPLOYMENT_COLOUR", "DEPLOYMENT_STARTED_AT",
		"DEPLOYMENT_TARGET_INSTANCES", "DEPLOYMENT_NEW_INSTANCES", "APP_ID"}
}

// checkLabelNames warns about every HAPROXY_* key of meta that is a
// template override or unknown. The common case (only known labels)
// allocates nothing.
func checkLabelNames(meta map[string]string, idx int, warn func(string, ...any)) (extra bool) {
	var odd []string
	var buf [24]byte
	own := string(strconv.AppendInt(append(buf[:0], "HAPROXY_"...), int64(idx), 10)) + "_"
	for k := range meta {
		rest, ok := strings.CutPrefix(k, "HAPROXY_")
		if !ok {
			continue
		}
		if name, mine := strings.CutPrefix(k, own); mine {
			switch {
			case !isValueLabel(name):
				odd = append(odd, k)
			case !isBasicLabel(name):
				extra = true
			}
			continue
		}
		if startsWithDigit(rest) || slices.Contains(appLevelLabels(), rest) {
			continue // another port's label, or an app-level one
		}
		odd = append(odd, k)
	}
	if len(odd) == 0 {
		return extra
	}
	slices.Sort(odd)
	tmpl := templateLabels()
	for _, k := range odd {
		name := strings.TrimPrefix(strings.TrimPrefix(k, own), "HAPROXY_")
		if eq, isT := tmpl[name]; isT {
			warn("%s rejected: template overrides are raw HAProxy configuration, which lbsync never takes from labels; structured equivalent: %s (lbsync/README.md)", k, eq)
		} else if strings.HasPrefix(k, own) {
			warn("%s ignored: not a label lbsync knows", k)
		}
	}
	return extra
}

// isBasicLabel: the labels applyLabels reads itself.
func isBasicLabel(name string) bool {
	switch name {
	case "GROUP", "VHOST", "PATH", "MODE", "BALANCE", "STICKY", "REDIRECT_TO_HTTPS", "SSL_CERT":
		return true
	}
	return false
}

func isValueLabel(name string) bool {
	switch name {
	case "GROUP", "VHOST", "PATH", "MODE", "BALANCE", "STICKY", "REDIRECT_TO_HTTPS", "SSL_CERT",
		"PORT", "BIND_ADDR", "BIND_OPTIONS", "AUTH", "USE_HSTS", "BACKEND_WEIGHT", "HTTP_BACKEND_PROXYPASS_PATH",
		"HTTP_BACKEND_REVPROXY_PATH", "HTTP_BACKEND_REDIR", "ENABLED", "TIMEOUT_SERVER", "TIMEOUT_CONNECT", "MAXCONN":
		return true
	}
	return false
}

func startsWithDigit(s string) bool { return s != "" && s[0] >= '0' && s[0] <= '9' }

// applyMoreLabels reads the labels added after marathon-lb's basic set.
func applyMoreLabels(svc *Service, meta map[string]string, warn func(string, ...any)) {
	idx := svc.PortIndex
	get := func(name string) (string, string, bool) {
		k := labelKey(idx, name)
		v, ok := meta[k]
		return k, v, ok && v != ""
	}
	if len(svc.Paths) > 0 {
		svc.RouteWeight = 1 // marathon-lb: path-routed backends sort before plain host rules
	}
	if !checkLabelNames(meta, idx, warn) {
		return // none of the labels below is set
	}
	if k, v, ok := get("PORT"); ok {
		if p, err := parsePort(v); err != nil {
			warn("%s %s rejected: %v", k, quoteValue(v), err)
		} else if p != svc.ServicePort {
			svc.BindPort = p
		}
	}
	if k, v, ok := get("BIND_ADDR"); ok {
		if a, err := netip.ParseAddr(v); err != nil || !a.Is4() {
			warn("%s %s rejected: not an IPv4 address", k, quoteValue(v))
		} else {
			svc.BindAddr = a.String()
		}
	}
	if k, v, ok := get("BIND_OPTIONS"); ok {
		if opts, err := parseBindOptions(v); err != nil {
			warn("%s %s rejected: %v", k, quoteValue(v), err)
		} else {
			svc.BindOptions = opts
		}
	}
	if k, v, ok := get("BACKEND_WEIGHT"); ok {
		if n, err := parseNumber(v, 0, 1000000); err != nil {
			warn("%s %s rejected: %v", k, quoteValue(v), err)
		} else if n > 0 || len(svc.Paths) == 0 {
			svc.RouteWeight = n
		}
	}
	svc.HSTS = boolLabel(get, "USE_HSTS", warn)
	for _, p := range []struct {
		name string
		dst  *string
	}{{"HTTP_BACKEND_PROXYPASS_PATH", &svc.ProxyPassPath}, {"HTTP_BACKEND_REVPROXY_PATH", &svc.RevProxyPath}, {"HTTP_BACKEND_REDIR", &svc.RedirectRoot}} {
		if k, v, ok := get(p.name); ok {
			if err := checkPath(v); err != nil {
				warn("%s %s rejected: %v", k, quoteValue(v), err)
			} else {
				*p.dst = v
			}
		}
	}
	if k, v, ok := get("AUTH"); ok {
		if a, err := parseAuth(v); err != nil {
			warn("%s rejected: %v", k, err) // the value holds a password hash: not shown
		} else {
			svc.Auth = a
		}
	}
	for _, t := range []struct {
		name string
		dst  *string
	}{{"TIMEOUT_SERVER", &svc.TimeoutServer}, {"TIMEOUT_CONNECT", &svc.TimeoutConnect}} {
		if k, v, ok := get(t.name); ok {
			if err := checkTimeout(v); err != nil {
				warn("%s %s rejected: %v", k, quoteValue(v), err)
			} else {
				*t.dst = v
			}
		}
	}
	if k, v, ok := get("MAXCONN"); ok {
		if n, err := parseNumber(v, 1, 1000000); err != nil {
			warn("%s %s rejected: %v", k, quoteValue(v), err)
		} else {
			svc.MaxConn = n
		}
	}
	if svc.Mode != "http" {
		var ignored []string
		for name, set := range map[string]bool{"AUTH": svc.Auth != nil, "USE_HSTS": svc.HSTS,
			"HTTP_BACKEND_PROXYPASS_PATH": svc.ProxyPassPath != "", "HTTP_BACKEND_REVPROXY_PATH": svc.RevProxyPath != "",
			"HTTP_BACKEND_REDIR": svc.RedirectRoot != ""} {
			if set {
				ignored = append(ignored, labelKey(idx, name))
			}
		}
		if len(ignored) > 0 {
			slices.Sort(ignored)
			warn("%s need mode http; ignored in mode tcp", strings.Join(ignored, ", "))
			svc.Auth, svc.HSTS, svc.ProxyPassPath, svc.RevProxyPath, svc.RedirectRoot = nil, false, "", "", ""
		}
	}
	if (svc.ProxyPassPath != "" || svc.RevProxyPath != "" || svc.RedirectRoot != "") && len(svc.VHosts) == 0 {
		warn("%s, _HTTP_BACKEND_REVPROXY_PATH and _HTTP_BACKEND_REDIR need a %s; ignored",
			labelKey(idx, "HTTP_BACKEND_PROXYPASS_PATH"), labelKey(idx, "VHOST"))
		svc.ProxyPassPath, svc.RevProxyPath, svc.RedirectRoot = "", "", ""
	}
}

// enabled applies HAPROXY_{n}_ENABLED: "false" always disables the port;
// under strict mode only "true" enables it (marathon-lb's --strict-mode).
func enabled(meta map[string]string, idx int, strict bool, warn func(string, ...any)) (bool, string) {
	k := labelKey(idx, "ENABLED")
	v, ok := meta[k]
	switch strings.ToLower(v) {
	case "true", "1", "yes":
		return true, ""
	case "false", "0", "no":
		return false, k + " is false"
	case "":
	default:
		warn("%s %s rejected: not a boolean", k, quoteValue(v))
	}
	if strict {
		if ok {
			return false, fmt.Sprintf("strict mode and %s %s is not true", k, quoteValue(v))
		}
		return false, "strict mode and no " + k + "=true"
	}
	return true, ""
}

// isAuthPart: 1 to 64 of [A-Za-z0-9_.-].
func isAuthPart(v string) bool {
	if v == "" || len(v) > 64 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !(isAlnum(c) || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// isCryptHash: "$<id>$…" with id 1, 5, 6, 2a, 2b, 2y or y, then 8 to 200
// of [A-Za-z0-9./$=,].
func isCryptHash(v string) bool {
	rest, ok := strings.CutPrefix(v, "$")
	if !ok {
		return false
	}
	id, body, ok := strings.Cut(rest, "$")
	if !ok || !slices.Contains([]string{"1", "5", "6", "2a", "2b", "2y", "y"}, id) || len(body) < 8 || len(body) > 200 {
		return false
	}
	for i := 0; i < len(body); i++ {
		if c := body[i]; !(isAlnum(c) || strings.IndexByte("./$=,", c) >= 0) {
			return false
		}
	}
	return true
}

// parseAuth accepts marathon-lb's realm:user:passwd-hash where the hash is
// a crypt(3) hash (as `mkpasswd -m sha-512` or `openssl passwd -6` make).
func parseAuth(v string) (*BasicAuth, error) {
	parts := strings.SplitN(v, ":", 3)
	if len(parts) != 3 {
		return nil, errors.New("want realm:user:password-hash")
	}
	if !isAuthPart(parts[0]) {
		return nil, errors.New("the realm has 1 to 64 of [A-Za-z0-9_.-]")
	}
	if !isAuthPart(parts[1]) {
		return nil, errors.New("the user has 1 to 64 of [A-Za-z0-9_.-]")
	}
	if !isCryptHash(parts[2]) {
		return nil, errors.New("the password is not a crypt(3) hash ($6$…, $5$…, $2y$…, $1$…)")
	}
	return &BasicAuth{Realm: parts[0], User: parts[1], PasswordHash: parts[2]}, nil
}

// checkTimeout accepts an HAProxy time: 1 to 6 digits and an optional
// unit us, ms, s, m, h or d.
func checkTimeout(v string) error {
	digits := strings.TrimRightFunc(v, func(r rune) bool { return r >= 'a' && r <= 'z' })
	unit := v[len(digits):]
	_, err := parseNumber(digits, 0, 999999)
	if err != nil || len(digits) > 6 || !slices.Contains([]string{"", "us", "ms", "s", "m", "h", "d"}, unit) {
		return errors.New("not an HAProxy time (a number with an optional unit us, ms, s, m, h, d)")
	}
	return nil
}

// bindFlags are the bind options HAPROXY_{n}_BIND_OPTIONS may name alone;
// bindArgs those that take one argument, with the argument's pattern.
func bindFlags() []string {
	return []string{"accept-proxy", "defer-accept", "tfo", "transparent", "v4v6", "v6only", "force-tlsv12",
		"force-tlsv13", "no-sslv3", "no-tlsv10", "no-tlsv11", "no-tlsv12", "no-tls-tickets", "prefer-client-ciphers", "strict-sni"}
}

func bindArgs() map[string]*regexp.Regexp {
	num := regexp.MustCompile(`^[0-9]{1,7}$`)
	tls := regexp.MustCompile(`^(SSLv3|TLSv1\.[0-3])$`)
	list := regexp.MustCompile(`^[A-Za-z0-9+:!_.=-]{1,512}$`)
	return map[string]*regexp.Regexp{"maxconn": num, "backlog": num, "ssl-min-ver": tls, "ssl-max-ver": tls,
		"ciphers": list, "ciphersuites": list, "curves": list, "alpn": regexp.MustCompile(`^[a-z0-9/.,-]{1,128}$`)}
}

// parseBindOptions accepts space-separated whitelisted bind options.
func parseBindOptions(v string) ([]string, error) {
	fields := strings.Fields(v)
	if strings.ContainsAny(v, "\r\n\t\x00#\"'\\") {
		return nil, errors.New("only space-separated bind options are accepted")
	}
	args := bindArgs()
	var out []string
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		if slices.Contains(bindFlags(), f) {
			out = append(out, f)
			continue
		}
		re, ok := args[f]
		if !ok {
			return nil, fmt.Errorf("bind option %s is not one lbsync accepts (%s, or %s with a value)", quoteValue(f),
				strings.Join(bindFlags(), " "), strings.Join(sortedArgNames(args), " "))
		}
		if i+1 >= len(fields) || !re.MatchString(fields[i+1]) {
			return nil, fmt.Errorf("bind option %s needs a valid value", f)
		}
		out = append(out, f+" "+fields[i+1])
		i++
	}
	return out, nil
}

func sortedArgNames(m map[string]*regexp.Regexp) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
