package registrator

import (
	"fmt"
	"regexp"
	"strings"
	"text/template"
)

// ParseTagsTemplate parses a -tags value that holds Go template actions
// (registrator v7.4's feature), executed per container over its `docker
// inspect` data, e.g. `{{.Config.Hostname}},{{mIndex "team" .Config.Labels}}`.
// Functions: strSlice, sIndex, mIndex, toUpper, toLower, replace, join,
// split, splitIndex, matchFirstElement, matchAllElements. registrator's
// httpGet and jsonParse are left out: naming does no I/O.
func ParseTagsTemplate(s string) (*template.Template, error) {
	t, err := template.New("tags").Funcs(tagFuncs()).Parse(s)
	if err != nil {
		return nil, fmt.Errorf("-tags template %q: %w", s, err)
	}
	return t, nil
}

// forcedTags renders -tags for one container; a template that fails gives
// no forced tags and a note.
func forcedTags(c Container, opts Options) ([]string, string) {
	if opts.TagsTemplate == nil {
		return splitTags(opts.Tags), ""
	}
	var data any = c
	if c.Inspect != nil {
		data = c.Inspect
	}
	var b strings.Builder
	if err := opts.TagsTemplate.Execute(&b, data); err != nil {
		return nil, "-tags template failed, no forced tags: " + err.Error()
	}
	return splitTags(b.String()), ""
}

// pick returns element i of l, counting from the end for negative i and
// clamping out-of-range indexes to the nearest end.
func pick(i int, l []string) string {
	if len(l) == 0 {
		return ""
	}
	if i < 0 {
		i = len(l) + i
	}
	return l[max(0, min(i, len(l)-1))]
}

func tagFuncs() template.FuncMap {
	return template.FuncMap{
		// strSlice v start [end]: v[start:end]; v unchanged when the bounds
		// do not fit, v[start:] when end < start.
		"strSlice": func(v string, idx ...int) string {
			fits := func(i int) bool { return i >= 0 && i <= len(v) }
			switch {
			case len(idx) == 1 && fits(idx[0]):
				return v[idx[0]:]
			case len(idx) == 2 && fits(idx[0]) && idx[1] <= len(v):
				if idx[1] < idx[0] {
					return v[idx[0]:]
				}
				return v[idx[0]:idx[1]]
			}
			return v
		},
		"sIndex":  pick,
		"mIndex":  func(k string, m map[string]string) string { return m[k] },
		"toUpper": strings.ToUpper,
		"toLower": strings.ToLower,
		"replace": func(n int, old, repl, v string) string { return strings.Replace(v, old, repl, n) },
		"join":    func(sep string, l []string) string { return strings.Join(l, sep) },
		"split":   func(sep, v string) []string { return strings.Split(v, sep) },
		"splitIndex": func(i int, sep, v string) string {
			return pick(i, strings.Split(v, sep))
		},
		"matchFirstElement": func(expr string, l []string) (string, error) {
			re, err := regexp.Compile(expr)
			if err != nil {
				return "", err
			}
			for _, e := range l {
				if re.MatchString(e) {
					return e, nil
				}
			}
			return "", nil
		},
		"matchAllElements": func(expr string, l []string) ([]string, error) {
			re, err := regexp.Compile(expr)
			if err != nil {
				return nil, err
			}
			var out []string
			for _, e := range l {
				if re.MatchString(e) {
					out = append(out, e)
				}
			}
			return out, nil
		},
	}
}
