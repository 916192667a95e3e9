package ui

import (
	"bytes"
	"compress/gzip"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config configures the UI.
type Config struct {
	// API is the master's public HTTP API (its full handler: auth,
	// forwarding to the leader); the UI calls it in process.
	API http.Handler
	// RoutesURL is lbsync's status address (http://127.0.0.1:9091) for
	// the routes page; empty: the page says it is not configured.
	RoutesURL string
	// RoutesClient reads RoutesURL (default: a client with a 5 s timeout).
	RoutesClient *http.Client
	Now          func() time.Time
	Logger       *slog.Logger
}

// UI is the web console. Its handler serves /ui/….
type UI struct {
	cfg    Config
	hc     *http.Client
	log    *slog.Logger
	now    func() time.Time
	pages  map[string]*template.Template
	static http.Handler
	h      http.Handler
}

// pageNames are the templates/*.html files that are pages.
var pageNames = []string{"apps", "groups", "app", "form", "tasks", "sandbox", "agents", "cluster", "routes",
	"deployments", "error", "jobs", "job", "jobform", "queues"}

// New builds the UI over cfg.API.
func New(cfg Config) (*UI, error) {
	if cfg.API == nil {
		return nil, errors.New("ui: config: API handler is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RoutesClient == nil {
		cfg.RoutesClient = &http.Client{Timeout: 5 * time.Second}
	}
	u := &UI{cfg: cfg, log: cfg.Logger, now: cfg.Now, pages: map[string]*template.Template{},
		hc: &http.Client{Transport: handlerTransport{h: cfg.API}}}
	for _, name := range pageNames {
		t, err := template.New(name).ParseFS(templateFS, "templates/layout.html", "templates/partials.html",
			"templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("ui: template %s: %w", name, err)
		}
		u.pages[name] = t
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("ui: static files: %w", err)
	}
	u.static = http.StripPrefix("/ui/static/", http.FileServerFS(sub))
	u.h = u.routes()
	return u, nil
}

// Handler serves /ui/….
func (u *UI) Handler() http.Handler { return u.h }

// Mount serves the UI at /ui/, redirects / there and hands every other
// path to api.
func Mount(u *UI, api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/ui" || strings.HasPrefix(r.URL.Path, "/ui/"):
			u.h.ServeHTTP(w, r)
		case r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			http.Redirect(w, r, "/ui/", http.StatusFound)
		default:
			api.ServeHTTP(w, r)
		}
	})
}

func (u *UI) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ui", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ui/apps", http.StatusFound) })
	mux.HandleFunc("GET /ui/{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ui/apps", http.StatusFound) })
	mux.HandleFunc("GET /ui/static/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		u.static.ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /ui/apps", u.appsPage)
	mux.HandleFunc("GET /ui/groups", u.groupsPage)
	mux.HandleFunc("GET /ui/apps/{id...}", u.appPage)
	mux.HandleFunc("POST /ui/apps/{id...}", u.appAction)
	mux.HandleFunc("GET /ui/new", u.newPage)
	mux.HandleFunc("POST /ui/new", u.formPost)
	mux.HandleFunc("GET /ui/edit/{id...}", u.editPage)
	mux.HandleFunc("POST /ui/edit/{id...}", u.formPost)
	mux.HandleFunc("GET /ui/deployments", u.deploymentsPage)
	mux.HandleFunc("POST /ui/deployments", u.deploymentAction)
	mux.HandleFunc("GET /ui/tasks", u.tasksPage)
	mux.HandleFunc("GET /ui/tasks/{id}", u.sandboxPage)
	mux.HandleFunc("GET /ui/tasks/{id}/logs", u.taskLogs)
	mux.HandleFunc("GET /ui/agents", u.agentsPage)
	mux.HandleFunc("GET /ui/routes", u.routesPage)
	mux.HandleFunc("GET /ui/cluster", u.clusterPage)
	mux.HandleFunc("GET /ui/events", u.events)
	mux.HandleFunc("GET /ui/jobs", u.jobsPage)
	mux.HandleFunc("GET /ui/queues", u.queuesPage)
	mux.HandleFunc("GET /ui/jobs/new", u.newJobPage)
	mux.HandleFunc("POST /ui/jobs/new", u.jobFormPost)
	mux.HandleFunc("GET /ui/jobs/{name}", u.jobPage)
	mux.HandleFunc("POST /ui/jobs/{name}", u.jobAction)
	mux.HandleFunc("GET /ui/jobs/{name}/edit", u.editJobPage)
	mux.HandleFunc("POST /ui/jobs/{name}/edit", u.jobFormPost)
	mux.HandleFunc("/ui/", func(w http.ResponseWriter, r *http.Request) {
		u.render(w, r, http.StatusNotFound, "error", ErrorView(http.StatusNotFound, "There is no page at "+r.URL.Path+"."))
	})
	return http.NewCrossOriginProtection().Handler(mux)
}

// api is the public API with r's credentials.
func (u *UI) api(r *http.Request) *api {
	return &api{hc: u.hc, auth: r.Header.Get("Authorization"), remote: r.RemoteAddr}
}

// pageData is what a handler hands render: a page model whose Page
// carries the flash messages.
type pageData interface{ page() *Page }

func (p *Page) page() *Page { return p }

// render executes page name with data and writes it (gzipped when the
// client accepts it).
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	if pd, ok := data.(pageData); ok {
		p := pd.page()
		if p.Notice == "" {
			p.Notice = r.URL.Query().Get("msg")
		}
		if p.Alert == "" {
			p.Alert = r.URL.Query().Get("err")
		}
	}
	buf, err := u.execute(name, data)
	if err != nil {
		u.log.Error("ui: render", "page", name, "err", err)
		http.Error(w, "ui: rendering "+name+" failed", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'")
	h.Set("Vary", "Accept-Encoding")
	if buf.Len() > 1024 && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
		w.WriteHeader(status)
		zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
		_, _ = zw.Write(buf.Bytes())
		_ = zw.Close()
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// execute renders page name with data.
func (u *UI) execute(name string, data any) (*bytes.Buffer, error) {
	var buf bytes.Buffer
	t, ok := u.pages[name]
	if !ok {
		return nil, fmt.Errorf("ui: no page %q", name)
	}
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		return nil, err
	}
	return &buf, nil
}

// fail answers a page whose API call failed: 401 asks the browser for
// credentials, 404 is the not-found page, the rest an error page.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	msg := err.Error()
	var ae *apiError
	if errors.As(err, &ae) {
		msg = ae.Message
	}
	switch status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Basic realm="Berth"`)
		u.render(w, r, status, "error", ErrorPage{Page: Page{Title: "Sign in"}, Status: status,
			Message: "The master wants credentials (--http-credentials): " + msg, Back: "/ui/apps"})
		return
	case http.StatusForbidden, http.StatusNotFound:
	default:
		status = http.StatusBadGateway
		u.log.Warn("ui: API call failed", "path", r.URL.Path, "err", err)
	}
	p := ErrorView(status, msg)
	u.render(w, r, status, "error", &p)
}
