package forward

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"
)

// Header names (Marathon's).
const (
	HeaderLeader = "X-Marathon-Leader"
	HeaderVia    = "X-Marathon-Via"
)

// Leadership is what the middleware needs to know about the election
// (election.Elector implements it).
type Leadership interface {
	// IsLeader reports whether this master leads now.
	IsLeader() bool
	// Leader returns the leader's URL, ok false when unknown.
	Leader() (url string, ok bool)
}

// Config configures the middleware.
type Config struct {
	// Self is this master's advertised URL (http://host:port), the same
	// value it publishes in the election.
	Self string
	// Leadership tells who leads.
	Leadership Leadership
	// Local selects requests every master answers itself (default
	// DefaultLocal).
	Local func(*http.Request) bool
	// Wait is how long a request waits for a leader while none is known
	// (default 3 s) before 503.
	Wait time.Duration
	// ConnectTimeout bounds connecting to the leader (default 5 s).
	ConnectTimeout time.Duration
	// ResponseHeaderTimeout bounds waiting for the leader's response
	// headers (default 30 s). Bodies, such as event streams, are not
	// bounded.
	ResponseHeaderTimeout time.Duration
	// Transport overrides the transport to the leader (e.g. for TLS); the
	// timeouts above then do not apply.
	Transport http.RoundTripper
	// Logger receives forwarding failures.
	Logger *slog.Logger
}

// DefaultLocal answers /ping, GET/HEAD /v2/leader and /v2/info locally.
func DefaultLocal(r *http.Request) bool {
	switch r.URL.Path {
	case "/ping", "/v2/info":
		return true
	case "/v2/leader":
		return r.Method == http.MethodGet || r.Method == http.MethodHead
	}
	return false
}

// Handler is the middleware.
type Handler struct {
	cfg   Config
	next  http.Handler
	via   string // this master's Via value: "1.1 host:port"
	proxy *httputil.ReverseProxy
}

// New wraps next.
func New(cfg Config, next http.Handler) (*Handler, error) {
	u, err := url.Parse(cfg.Self)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("forward: config: Self %q must be an http(s)://host:port URL", cfg.Self)
	}
	if cfg.Leadership == nil {
		return nil, errors.New("forward: config: Leadership is required")
	}
	if cfg.Local == nil {
		cfg.Local = DefaultLocal
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 3 * time.Second
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	if cfg.ResponseHeaderTimeout <= 0 {
		cfg.ResponseHeaderTimeout = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Transport == nil {
		cfg.Transport = &http.Transport{
			Proxy:                 nil,
			DialContext:           (&net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
			ResponseHeaderTimeout: cfg.ResponseHeaderTimeout,
			MaxIdleConnsPerHost:   64,
			IdleConnTimeout:       90 * time.Second,
		}
	}
	h := &Handler{cfg: cfg, next: next, via: "1.1 " + u.Host}
	h.proxy = &httputil.ReverseProxy{
		Rewrite:      h.rewrite,
		Transport:    cfg.Transport,
		ErrorHandler: h.proxyError,
		// Event streams (text/event-stream) are flushed at once anyway;
		// flush other bodies often too, so long responses keep moving.
		FlushInterval: 100 * time.Millisecond,
	}
	return h, nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.looped(r) {
		writeJSON(w, http.StatusBadGateway, "Detected proxying loop.")
		return
	}
	if h.cfg.Local(r) {
		if url, ok := h.cfg.Leadership.Leader(); ok {
			w.Header().Set(HeaderLeader, url)
		}
		h.next.ServeHTTP(w, r)
		return
	}
	h.forward(w, r)
}

// forward serves r here if this master leads, or proxies it to the leader.
// A leader that refuses the connection (it just died; the election has not
// noticed yet) is skipped: the request waits, within cfg.Wait, for the next
// leader — safe because nothing of it reached the dead one.
func (h *Handler) forward(w http.ResponseWriter, r *http.Request) {
	deadline := time.Now().Add(h.cfg.Wait)
	body := &guardedBody{}
	if r.Body != nil && r.Body != http.NoBody {
		body.rc = r.Body
		r.Body = body
	}
	var dead *attempt
	for {
		deadURL := ""
		if dead != nil {
			deadURL = dead.leader
		}
		leader, self := h.awaitLeader(r, deadline, deadURL)
		switch {
		case self:
			w.Header().Set(HeaderLeader, h.cfg.Self)
			h.next.ServeHTTP(w, r)
			return
		case leader == "" && dead != nil:
			writeJSON(w, http.StatusBadGateway, fmt.Sprintf("Could not reach the current leader %s: %v", deadURL, dead.err))
			return
		case leader == "":
			writeJSON(w, http.StatusServiceUnavailable, "Could not determine the current leader")
			return
		}
		target, err := url.Parse(leader)
		if err != nil || target.Host == "" {
			writeJSON(w, http.StatusBadGateway, fmt.Sprintf("Could not determine the current leader: bad leader URL %q", leader))
			return
		}
		at := &attempt{leader: leader, target: target, deadline: deadline, body: body}
		h.proxy.ServeHTTP(w, r.WithContext(withAttempt(r.Context(), at)))
		if at.err == nil {
			return
		}
		dead = at
	}
}

// looped reports whether r already passed through this master.
func (h *Handler) looped(r *http.Request) bool {
	for _, v := range r.Header.Values(HeaderVia) {
		for _, hop := range strings.Split(v, ",") {
			if strings.TrimSpace(hop) == h.via {
				return true
			}
		}
	}
	return false
}

// awaitLeader returns the leader's URL, or self when this master leads.
// While leadership is in flux — no leader known, the election names this
// master before its term started, or it still names the leader that just
// refused a connection (dead) — it polls until deadline.
func (h *Handler) awaitLeader(r *http.Request, deadline time.Time, dead string) (leader string, self bool) {
	delay := 20 * time.Millisecond
	for {
		if h.cfg.Leadership.IsLeader() {
			return h.cfg.Self, true
		}
		if url, ok := h.cfg.Leadership.Leader(); ok && url != h.cfg.Self && url != dead {
			return url, false
		}
		if time.Now().After(deadline) {
			return "", false
		}
		select {
		case <-r.Context().Done():
			return "", false
		case <-time.After(delay):
		}
		delay = min(delay*2, 50*time.Millisecond)
	}
}

func (h *Handler) rewrite(pr *httputil.ProxyRequest) {
	pr.SetURL(attemptOf(pr.In.Context()).target)
	pr.SetXForwarded()
	pr.Out.Header.Add(HeaderVia, h.via)
}

func (h *Handler) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	at := attemptOf(r.Context())
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" && at.body.n.Load() == 0 && time.Now().Before(at.deadline) {
		h.cfg.Logger.Info("forward: leader refused the connection; waiting for the next", "leader", at.target.String(), "err", err)
		at.err = err
		return
	}
	h.cfg.Logger.Warn("forward: leader unreachable", "leader", at.target.String(), "method", r.Method, "path", r.URL.Path, "err", err)
	writeJSON(w, http.StatusBadGateway, fmt.Sprintf("Could not reach the current leader %s: %v", at.target, err))
}

func writeJSON(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

// WhenReady makes l count this master as the leader only once ready()
// also holds (e.g. the elected master finished loading its state); until
// then requests to it wait as during an election, and standbys forwarding
// to it are held by its own middleware the same way.
func WhenReady(l Leadership, ready func() bool) Leadership {
	return readyLeadership{l, ready}
}

type readyLeadership struct {
	Leadership
	ready func() bool
}

func (r readyLeadership) IsLeader() bool { return r.Leadership.IsLeader() && r.ready() }
