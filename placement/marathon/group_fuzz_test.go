package marathon

import (
	"errors"
	"testing"
)

// FuzzParseGroup: every group body is a group or a 400/422 *Error with
// details, never a panic; in an accepted group every app and subgroup is
// a direct child of its group and every id is absolute.
func FuzzParseGroup(f *testing.F) {
	for _, s := range []string{
		`{"id":"/a","apps":[{"id":"x","cmd":"x"}],"groups":[{"id":"b","dependencies":["../c"]}]}`,
		`{"id":"a","scaleBy":2}`, `{"version":"2026-01-01T00:00:00.000Z"}`,
		`{"id":"/a","apps":[{"id":"/b/x","cmd":"x"}]}`, `{"groups":[{"groups":[{}]}]}`,
		`{"id":"/a","pods":[{}]}`, `[]`, `null`, `{"apps":{}}`, `{"id":"/a","apps":[{"id":"x"},{"id":"x"}]}`,
	} {
		f.Add([]byte(s))
	}
	parse := func(data []byte, base string) (*App, error) { return Parse(data, base, Options{}) }
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := ParseGroup(data, "/", "/g", parse)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || (e.Status != 400 && e.Status != 422) || len(e.Details) == 0 {
				t.Fatalf("error %v is not a 400/422 *Error with details", err)
			}
			return
		}
		var check func(g *Group)
		check = func(g *Group) {
			if g.ID == "" || g.ID[0] != '/' {
				t.Fatalf("group id %q is not absolute", g.ID)
			}
			for _, a := range g.Apps {
				if ParentOf(a.ID) != g.ID {
					t.Fatalf("app %s accepted in group %s", a.ID, g.ID)
				}
			}
			for _, s := range g.Groups {
				if ParentOf(s.ID) != g.ID {
					t.Fatalf("group %s accepted in group %s", s.ID, g.ID)
				}
				check(s)
			}
		}
		check(g)
	})
}
