package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/berth-platform/berth/internal/wire"
)

// Master is the agent's view of the master's internal API (internal/wire).
type Master interface {
	Register(ctx context.Context, reg wire.Registration) (wire.Registered, error)
	// Desired long-polls for the desired set newer than index; it returns
	// the current set after at most wait. With the epoch of the set the
	// agent holds (wire.Desired.Epoch), a master may answer Unchanged
	// instead of the same set again; "" always gets the whole set.
	Desired(ctx context.Context, agentID string, index uint64, epoch string, wait time.Duration) (wire.Desired, error)
	Status(ctx context.Context, agentID string, batch wire.StatusBatch) (wire.Ack, error)
}

// ErrUnknownAgent is returned when the master does not know the agent id
// (404); the agent then registers again.
var ErrUnknownAgent = errors.New("master does not know this agent")

// HTTPMaster talks to a master over HTTP.
type HTTPMaster struct {
	base   string
	secret string
	client *http.Client
}

// HTTPMasterConfig configures an HTTPMaster.
type HTTPMasterConfig struct {
	URL    string // e.g. http://127.0.0.1:8080
	Secret string // --agent-secret, sent as a bearer token
	Client *http.Client
}

// NewHTTPMaster checks the URL and builds the client. zk:// URLs need a
// ZKMaster, which follows the leader.
func NewHTTPMaster(cfg HTTPMasterConfig) (*HTTPMaster, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("master url %q: %w", cfg.URL, err)
	}
	switch u.Scheme {
	case "http", "https":
	case "zk":
		return nil, fmt.Errorf("master url %q: a zk:// URL needs NewZKMaster (it follows the leader)", cfg.URL)
	default:
		return nil, fmt.Errorf("master url %q: scheme must be http or https", cfg.URL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("master url %q: no host", cfg.URL)
	}
	c := cfg.Client
	if c == nil {
		c = &http.Client{}
	}
	return &HTTPMaster{base: strings.TrimSuffix(cfg.URL, "/"), secret: cfg.Secret, client: c}, nil
}

// Register implements Master.
func (m *HTTPMaster) Register(ctx context.Context, reg wire.Registration) (wire.Registered, error) {
	var out wire.Registered
	err := m.do(ctx, http.MethodPost, "/internal/v1/agents", reg, &out)
	if err != nil {
		return out, fmt.Errorf("master: register %s: %w", reg.Hostname, err)
	}
	if out.ID == "" {
		return out, fmt.Errorf("master: register %s: answer has no agent id", reg.Hostname)
	}
	return out, nil
}

// Desired implements Master.
func (m *HTTPMaster) Desired(ctx context.Context, agentID string, index uint64, epoch string, wait time.Duration) (wire.Desired, error) {
	var out wire.Desired
	p := "/internal/v1/agents/" + url.PathEscape(agentID) + "/desired?index=" + strconv.FormatUint(index, 10) +
		"&wait=" + url.QueryEscape(wait.String())
	if epoch != "" {
		p += "&epoch=" + url.QueryEscape(epoch)
	}
	ctx, cancel := context.WithTimeout(ctx, wait+15*time.Second)
	defer cancel()
	if err := m.do(ctx, http.MethodGet, p, nil, &out); err != nil {
		return out, fmt.Errorf("master: desired tasks of %s: %w", agentID, err)
	}
	return out, nil
}

// Status implements Master.
func (m *HTTPMaster) Status(ctx context.Context, agentID string, batch wire.StatusBatch) (wire.Ack, error) {
	var out wire.Ack
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := m.do(ctx, http.MethodPost, "/internal/v1/agents/"+url.PathEscape(agentID)+"/status", batch, &out); err != nil {
		return out, fmt.Errorf("master: status updates of %s: %w", agentID, err)
	}
	return out, nil
}

func (m *HTTPMaster) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, m.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if m.secret != "" {
		req.Header.Set("Authorization", "Bearer "+m.secret)
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode == http.StatusNotFound && strings.HasPrefix(path, "/internal/v1/agents/") {
		return fmt.Errorf("%w (%s)", ErrUnknownAgent, errorMessage(b, resp.Status))
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s", method, path, errorMessage(b, resp.Status))
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}

func errorMessage(body []byte, status string) string {
	var e wire.Error
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		return status + ": " + e.Message
	}
	return status
}
