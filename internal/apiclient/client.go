package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultTimeout bounds one request that is not a log stream.
const DefaultTimeout = 30 * time.Second

// Config configures a Client.
type Config struct {
	// BaseURL is the master, e.g. http://127.0.0.1:8080.
	BaseURL string
	// Username and Password enable HTTP basic auth when Username is set.
	Username, Password string
	// HTTPClient is used when set; otherwise a client without an overall
	// timeout (log streams are long), each call bounded by Timeout.
	HTTPClient *http.Client
	// Timeout bounds each non-streaming request (default DefaultTimeout).
	Timeout time.Duration
}

// Validate checks the base URL.
func (c Config) Validate() error {
	u, err := url.Parse(c.BaseURL)
	if err != nil {
		return fmt.Errorf("master URL %q: %w", c.BaseURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("master URL %q: want http(s)://host:port", c.BaseURL)
	}
	return nil
}

// Client talks to one master. It is safe for concurrent use.
type Client struct {
	base    string
	cfg     Config
	http    *http.Client
	timeout time.Duration
}

// New returns a client for cfg.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Client{base: strings.TrimRight(cfg.BaseURL, "/"), cfg: cfg, http: hc, timeout: timeout}, nil
}

// BaseURL is the master this client talks to.
func (c *Client) BaseURL() string { return c.base }

// Detail is one entry of a Marathon error body's details.
type Detail struct {
	Path   string   `json:"path"`
	Errors []string `json:"errors"`
}

// DeploymentRef names a deployment ({"id": …}).
type DeploymentRef struct {
	ID string `json:"id"`
}

// Error is a non-2xx answer of the API.
type Error struct {
	Method, Path string
	Status       int
	// Message is Marathon's message, or the body's text when it is not
	// Marathon's JSON (e.g. a proxy's error page).
	Message string
	Details []Detail
	// Deployments lists the deployments locking the app on a 409.
	Deployments []DeploymentRef
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d %s", e.Method, e.Path, e.Status, e.Message)
	for _, d := range e.Details {
		fmt.Fprintf(&b, "; %s: %s", d.Path, strings.Join(d.Errors, ", "))
	}
	return b.String()
}

// IsNotFound reports whether err is an API 404.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// IsConflict reports whether err is an API 409.
func IsConflict(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusConflict
}

// decodeError builds the Error of a non-2xx answer.
func decodeError(method, path string, status int, body []byte) *Error {
	e := &Error{Method: method, Path: path, Status: status}
	var m struct {
		Message     *string         `json:"message"`
		Details     []Detail        `json:"details"`
		Deployments []DeploymentRef `json:"deployments"`
	}
	if json.Unmarshal(body, &m) == nil && m.Message != nil {
		e.Message, e.Details, e.Deployments = *m.Message, m.Details, m.Deployments
		return e
	}
	text := strings.TrimSpace(string(body))
	if len(text) > 512 {
		text = text[:512] + "…"
	}
	if text == "" {
		text = http.StatusText(status)
	}
	e.Message = text
	return e
}

// request is one API call.
type request struct {
	method string
	path   string // already escaped
	query  url.Values
	body   any // marshalled as JSON unless []byte
}

func (c *Client) newRequest(ctx context.Context, r request) (*http.Request, error) {
	var rd io.Reader
	switch b := r.body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("%s %s: encode body: %w", r.method, r.path, err)
		}
		rd = bytes.NewReader(data)
	}
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	req.Header.Set("Accept", "application/json")
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.cfg.Username != "" {
		req.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	}
	return req, nil
}

// do performs r and decodes a 2xx JSON answer into out (when not nil);
// it returns the answer's headers.
func (c *Client) do(ctx context.Context, r request, out any) (http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := c.newRequest(ctx, r)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: cannot reach the master at %s: %w", r.method, r.path, c.base, unwrapURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", r.method, r.path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.Header, decodeError(r.method, r.path, resp.StatusCode, body)
	}
	if out != nil && len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, out); err != nil {
			return resp.Header, fmt.Errorf("%s %s: decode answer: %w", r.method, r.path, err)
		}
	}
	return resp.Header, nil
}

// unwrapURLError drops url.Error's repetition of method and URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// appPath is /v2/apps followed by the escaped absolute app id.
func appPath(id string) string {
	return "/v2/apps" + escapeID(id)
}

// escapeID makes id absolute and escapes each of its segments.
func escapeID(id string) string {
	id = NormalizeID(id)
	segs := strings.Split(strings.TrimPrefix(id, "/"), "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return "/" + strings.Join(segs, "/")
}

// NormalizeID makes an app id absolute ("web" → "/web") and drops a
// trailing slash.
func NormalizeID(id string) string {
	id = strings.TrimSpace(id)
	if !strings.HasPrefix(id, "/") {
		id = "/" + id
	}
	if len(id) > 1 {
		id = strings.TrimRight(id, "/")
	}
	return id
}
