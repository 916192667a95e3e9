package master

import (
	"reflect"
	"testing"

	"github.com/berth-platform/berth/internal/wire"
)

func TestFetchReachesTheTaskSpec(t *testing.T) {
	h := newHarness(t, nil)
	a := h.agent("node-1", nil)
	h.must(201, "POST", "/v2/apps", `{"id":"/f","cmd":"./run","cpus":0.1,"mem":16,
		"fetch":[{"uri":"https://example.org/app.tgz"},{"uri":"file:///opt/tool","executable":true,"extract":false,"destPath":"bin/tool"}]}`)
	h.must(201, "POST", "/v2/apps", `{"id":"/u","cmd":"./run","cpus":0.1,"mem":16,"uris":["/srv/pkg.zip"]}`)
	h.pass()
	got := map[string][]wire.FetchURI{}
	for _, s := range a.desired().Tasks {
		got[s.AppID] = s.Fetch
	}
	want := map[string][]wire.FetchURI{
		"/f": {{URI: "https://example.org/app.tgz", Extract: true}, {URI: "file:///opt/tool", Executable: true, DestPath: "bin/tool"}},
		"/u": {{URI: "/srv/pkg.zip", Extract: true}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("fetch in TaskSpecs = %+v, want %+v", got, want)
	}
}
