package master

import (
	"net/http"

	"github.com/berth-platform/berth/ui"
)

// withUI puts the web console in front of api (the master's whole
// handler, or a ZooKeeper group member's forwarding one): /ui/ is the
// console, / redirects there, everything else is api. The console reads
// through api with each caller's credentials, so on a standby it shows
// the leader's state through the same forwarding the API uses.
func withUI(api http.Handler, cfg ServerConfig) (http.Handler, error) {
	u, err := ui.New(ui.Config{API: api, RoutesURL: cfg.UIRoutesURL, Logger: cfg.Master.Logger, Now: cfg.Master.Now})
	if err != nil {
		return nil, err
	}
	return ui.Mount(u, api), nil
}
