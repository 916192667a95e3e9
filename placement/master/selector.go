package master

import (
	"fmt"
	"strings"
)

// selector is Marathon's label selector: comma-separated requirements
// (AND) of the forms key, key==v, key!=v, key in (a,b), key notin (a,b).
type selector []requirement

type requirement struct {
	key    string
	op     string // exists, ==, !=, in, notin
	values []string
}

func (s selector) matches(labels map[string]string) bool {
	for _, r := range s {
		v, ok := labels[r.key]
		switch r.op {
		case "exists":
			if !ok {
				return false
			}
		case "==":
			if !ok || v != r.values[0] {
				return false
			}
		case "!=":
			if ok && v == r.values[0] {
				return false
			}
		case "in":
			if !ok || !contains(r.values, v) {
				return false
			}
		case "notin":
			if ok && contains(r.values, v) {
				return false
			}
		}
	}
	return true
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// splitTop splits s at unescaped commas outside parentheses.
func splitTop(s string) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}

func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return strings.TrimSpace(b.String())
}

func parseSelector(s string) (selector, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out selector
	for _, part := range splitTop(s) {
		part = strings.TrimSpace(part)
		var r requirement
		switch {
		case strings.Contains(part, "=="):
			k, v, _ := strings.Cut(part, "==")
			r = requirement{key: unescape(k), op: "==", values: []string{unescape(v)}}
		case strings.Contains(part, "!="):
			k, v, _ := strings.Cut(part, "!=")
			r = requirement{key: unescape(k), op: "!=", values: []string{unescape(v)}}
		case strings.Contains(part, " notin "), strings.Contains(part, " in "):
			op := "in"
			k, list, _ := strings.Cut(part, " in ")
			if strings.Contains(part, " notin ") {
				op = "notin"
				k, list, _ = strings.Cut(part, " notin ")
			}
			list = strings.TrimSpace(list)
			if !strings.HasPrefix(list, "(") || !strings.HasSuffix(list, ")") {
				return nil, fmt.Errorf("%q: expected a parenthesised list", part)
			}
			var vals []string
			for _, v := range splitTop(list[1 : len(list)-1]) {
				vals = append(vals, unescape(v))
			}
			r = requirement{key: unescape(k), op: op, values: vals}
		default:
			r = requirement{key: unescape(part), op: "exists"}
		}
		if r.key == "" {
			return nil, fmt.Errorf("%q: empty label key", part)
		}
		out = append(out, r)
	}
	return out, nil
}
