package master

import (
	"github.com/berth-platform/berth/internal/wire"
	"github.com/berth-platform/berth/placement/marathon"
)

// taskFetch is what the agent fetches into a task's sandbox: the app's
// fetch entries, then its (deprecated) uris as Marathon converts them
// (extract on, executable off).
func taskFetch(app *marathon.App) []wire.FetchURI {
	var out []wire.FetchURI
	for _, f := range app.Fetch {
		out = append(out, wire.FetchURI{URI: f.URI, Extract: f.Extract, Executable: f.Executable, DestPath: f.DestPath})
	}
	for _, u := range app.URIs {
		out = append(out, wire.FetchURI{URI: u, Extract: true})
	}
	return out
}
