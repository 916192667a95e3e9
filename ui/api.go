package ui

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
)

// apiBase is the host the in-process API requests name; the handler
// never dials it.
const apiBase = "http://berth.api"

// maxAPIBody bounds one buffered API answer.
const maxAPIBody = 64 << 20

// api is the public API as one request of one user sees it: every call
// carries that user's Authorization header, so the API's auth decides
// what the UI may show.
type api struct {
	hc     *http.Client
	auth   string
	remote string
}

// apiError is a non-2xx answer, with Marathon's message and details.
type apiError struct {
	Method, Path string
	Status       int
	Message      string
	Details      []apiDetail
}

type apiDetail struct {
	Path   string   `json:"path"`
	Errors []string `json:"errors"`
}

func (e *apiError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d %s", e.Method, e.Path, e.Status, e.Message)
	for _, d := range e.Details {
		fmt.Fprintf(&b, "; %s: %s", d.Path, strings.Join(d.Errors, ", "))
	}
	return b.String()
}

// statusOf is err's API status (0 when err is not an API answer).
func statusOf(err error) int {
	var e *apiError
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

func decodeAPIError(method, path string, status int, body []byte) *apiError {
	e := &apiError{Method: method, Path: path, Status: status}
	var m struct {
		Message string      `json:"message"`
		Details []apiDetail `json:"details"`
	}
	if json.Unmarshal(body, &m) == nil && (m.Message != "" || len(m.Details) > 0) {
		e.Message, e.Details = m.Message, m.Details
	} else {
		e.Message = strings.TrimSpace(string(body))
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

func (a *api) request(ctx context.Context, method, path string, body []byte) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, apiBase+path, rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.auth != "" {
		req.Header.Set("Authorization", a.auth)
	}
	req.RemoteAddr = a.remote
	return req, nil
}

// call performs one request and returns the 2xx answer's body and
// headers; a non-2xx answer is an *apiError.
func (a *api) call(ctx context.Context, method, path string, body []byte) ([]byte, http.Header, error) {
	req, err := a.request(ctx, method, path, body)
	if err != nil {
		return nil, nil, err
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIBody))
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return b, resp.Header, decodeAPIError(method, path, resp.StatusCode, b)
	}
	return b, resp.Header, nil
}

// get decodes a GET answer into out.
func (a *api) get(ctx context.Context, path string, out any) error {
	b, _, err := a.call(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("GET %s: decode answer: %w", path, err)
	}
	return nil
}

// stream opens a streaming GET (logs, events); the caller closes the body.
func (a *api) stream(ctx context.Context, path, accept string) (*http.Response, error) {
	req, err := a.request(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", accept)
	resp, err := a.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return nil, decodeAPIError(http.MethodGet, path, resp.StatusCode, b)
	}
	return resp, nil
}

// appPath is /v2/apps followed by the escaped app id.
func appPath(id string) string { return "/v2/apps" + escapeID(id) }

// escapeID makes id absolute and escapes each segment.
func escapeID(id string) string {
	id = normalizeID(id)
	segs := strings.Split(strings.TrimPrefix(id, "/"), "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return "/" + strings.Join(segs, "/")
}

// normalizeID makes an app id absolute and drops a trailing slash.
func normalizeID(id string) string {
	id = strings.TrimSpace(id)
	if !strings.HasPrefix(id, "/") {
		id = "/" + id
	}
	if len(id) > 1 {
		id = strings.TrimRight(id, "/")
	}
	return id
}
