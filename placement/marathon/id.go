package marathon

import (
	"regexp"
	"strconv"
	"strings"
)

// IDSegmentPattern is Marathon's per-segment id rule.
const IDSegmentPattern = `^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])|(\.|\.\.)$`

var idSegment = regexp.MustCompile(`^(?:(?:(?:[a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*(?:[a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])|\.|\.\.)$`)

var reservedLast = []string{"restart", "tasks", "versions", ".", ".."}

// ResolveID makes id absolute against base and normalises "." and "..".
// The result keeps segments that are invalid so validation can name them.
func ResolveID(id, base string) string {
	if id == "" {
		return ""
	}
	full := id
	if !strings.HasPrefix(id, "/") {
		full = strings.TrimSuffix(base, "/") + "/" + id
	}
	var out []string
	for _, seg := range strings.Split(full, "/") {
		switch seg {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, seg)
		}
	}
	return "/" + strings.Join(out, "/")
}

// validateID checks an absolute app id per segment.
func validateID(id string, v *Violations) {
	if id == "" {
		v.Add("/id", "error.path.missing")
		return
	}
	if id == "/" {
		v.Add("/id", "Path must contain at least one path element")
		return
	}
	segs := strings.Split(strings.TrimPrefix(id, "/"), "/")
	for _, s := range segs {
		if !idSegment.MatchString(s) {
			v.Add("/id", "must fully match regular expression '"+IDSegmentPattern+"'")
			return
		}
	}
	last := segs[len(segs)-1]
	for _, r := range reservedLast {
		if last == r {
			v.Add("/id", "must not end with any of the following reserved keywords: "+strings.Join(reservedLast, ", "))
			return
		}
	}
}

// SafeID turns /shop/web into shop_web (task id prefix, text listing).
func SafeID(id string) string {
	return strings.ReplaceAll(strings.TrimPrefix(id, "/"), "/", "_")
}

func parentOf(id string) string {
	i := strings.LastIndex(id, "/")
	if i <= 0 {
		return "/"
	}
	return id[:i]
}

func pathIdx(path string, i int) string {
	return path + "(" + strconv.Itoa(i) + ")"
}
