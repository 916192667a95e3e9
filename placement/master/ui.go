package master

import (
	"net/http"
	"strings"
	"time"

	"github.com/berth-platform/berth/ui"
)

// withUI puts the web console in front of api (the master's whole
// handler, or a ZooKeeper group member's forwarding one): /ui/ is the
// console, / redirects there, everything else is api. The console reads
// through api with each caller's credentials, so on a standby it shows
// the leader's state through the same forwarding the API uses.
func withUI(api http.Handler, cfg ServerConfig) (http.Handler, error) {
	uc := ui.Config{API: api, RoutesURL: cfg.UIRoutesURL, Logger: cfg.Master.Logger, Now: cfg.Master.Now}
	if cfg.UIRoutesCredentials != "" {
		uc.RoutesClient = &http.Client{Timeout: 5 * time.Second,
			Transport: basicAuthTransport{creds: cfg.UIRoutesCredentials, next: http.DefaultTransport}}
	}
	u, err := ui.New(uc)
	if err != nil {
		return nil, err
	}
	mounted := ui.Mount(u, api)
	guard := (&Master{cfg: cfg.Master}).basicAuth(mounted)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The console's own paths (its static files and redirects
		// included) are behind the API's credentials too.
		if r.URL.Path == "/" || r.URL.Path == "/ui" || strings.HasPrefix(r.URL.Path, "/ui/") {
			guard.ServeHTTP(w, r)
			return
		}
		mounted.ServeHTTP(w, r)
	}), nil
}

// basicAuthTransport sends creds ("user:pass") as basic auth on every
// request: the console's reads of lbsync's status port.
type basicAuthTransport struct {
	creds string
	next  http.RoundTripper
}

func (t basicAuthTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	user, pass, _ := strings.Cut(t.creds, ":")
	r.SetBasicAuth(user, pass)
	return t.next.RoundTrip(r)
}
