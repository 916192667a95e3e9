package registrator

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
)

// Consul's limits on service Meta; a registration breaking any of them is
// rejected as a whole, so offending pairs are dropped (with a note) instead.
const (
	maxMetaPairs     = 64
	maxMetaKeyLen    = 128
	maxMetaValueLen  = 512
	reservedMetaPref = "consul-"
)

// buildMeta merges the registrator's own keys (fixed, always kept) with the
// attributes (SERVICE_* keys, HAPROXY_* labels), dropping what Consul would
// refuse: bad keys, long values, and — by key order — pairs beyond 64. One
// slot is reserved for the fingerprint.
func buildMeta(fixed, attrs map[string]string) (map[string]string, []string) {
	out := make(map[string]string, len(fixed)+len(attrs)+1)
	var notes []string
	for k, v := range fixed {
		out[k] = v
	}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := attrs[k]
		if _, taken := fixed[k]; taken {
			notes = append(notes, "meta "+k+" dropped: reserved for the registrator")
			continue
		}
		if reason := metaProblem(k, v); reason != "" {
			notes = append(notes, "meta "+strconv.Quote(k)+" dropped: "+reason)
			continue
		}
		if len(out) >= maxMetaPairs-1 {
			notes = append(notes, "meta "+k+" dropped: Consul allows at most 64 meta pairs")
			continue
		}
		out[k] = v
	}
	return out, notes
}

func metaProblem(k, v string) string {
	switch {
	case k == "":
		return "empty key"
	case len(k) > maxMetaKeyLen:
		return "key longer than 128 characters"
	case strings.HasPrefix(k, reservedMetaPref):
		return "the consul- prefix is reserved"
	case len(v) > maxMetaValueLen:
		return "value longer than 512 characters"
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return "key may only hold letters, digits, _ and -"
		}
	}
	return ""
}

// Fingerprint is a short hash of everything a registration sets, except the
// fingerprint itself. Plan re-registers a service whose registered
// fingerprint differs from the desired one.
func Fingerprint(s Service) string {
	meta := make(map[string]string, len(s.Meta))
	for k, v := range s.Meta {
		if k != MetaFingerprint {
			meta[k] = v
		}
	}
	s.Meta = meta
	b, _ := json.Marshal(s) // cannot fail: strings, ints, bools, maps of strings
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}
