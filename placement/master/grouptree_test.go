package master

import (
	"strings"
	"testing"
)

func TestBuildGroups(t *testing.T) {
	apps := map[string]string{"/a/b/x": "2026-01-01T00:00:02.000Z", "/a/y": "2026-01-01T00:00:01.000Z", "/z": "2026-01-01T00:00:00.000Z"}
	metas := map[string]*groupMeta{"/a/empty": {ID: "/a/empty", Version: "2026-01-01T00:00:03.000Z"},
		"/a": {ID: "/a", Dependencies: []string{"/z"}}}
	idx := buildGroups(apps, metas)
	for _, tc := range []struct {
		id, apps, groups, deps, version string
	}{
		{"/", "/z", "/a", "", "2026-01-01T00:00:03.000Z"},
		{"/a", "/a/y", "/a/b,/a/empty", "/z", "2026-01-01T00:00:03.000Z"},
		{"/a/b", "/a/b/x", "", "", "2026-01-01T00:00:02.000Z"},
		{"/a/empty", "", "", "", "2026-01-01T00:00:03.000Z"},
	} {
		n := idx[tc.id]
		if n == nil {
			t.Fatalf("%s missing", tc.id)
		}
		var groups []string
		for _, g := range n.Groups {
			groups = append(groups, g.ID)
		}
		got := []string{strings.Join(n.Apps, ","), strings.Join(groups, ","), strings.Join(n.Dependencies, ","), n.Version}
		want := []string{tc.apps, tc.groups, tc.deps, tc.version}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s = %q, want %q", tc.id, got, want)
		}
	}
	if len(idx) != 4 {
		t.Errorf("%d groups, want 4", len(idx))
	}
}

func TestEffectiveDeps(t *testing.T) {
	apps := map[string]string{"/p/front/web": "", "/p/back/api": "", "/p/back/db": "", "/p/lone": "", "/ext": ""}
	metas := map[string]*groupMeta{
		"/p/front": {ID: "/p/front", Dependencies: []string{"/p/back"}},
		"/p":       {ID: "/p", Dependencies: []string{"/ext", "/p/back"}},
	}
	idx := buildGroups(apps, metas)
	for _, tc := range []struct {
		app  string
		own  []string
		want string
	}{
		// its group's dependency on /p/back (a group: all its apps) and
		// /p's on /ext; /p's on /p/back too.
		{"/p/front/web", nil, "/ext,/p/back/api,/p/back/db"},
		// an app inside /p/back does not depend on its own group
		{"/p/back/api", []string{"/p/back/db"}, "/ext,/p/back/db"},
		{"/p/lone", []string{"/unknown"}, "/ext,/p/back/api,/p/back/db,/unknown"},
		{"/ext", nil, ""},
	} {
		if got := strings.Join(effectiveDeps(tc.app, tc.own, idx, apps), ","); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.app, got, tc.want)
		}
	}
}
