// Package agentapi reads a Berth agent's task list over its HTTP API, for
// the registrator (registrator.Agents).
package agentapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/berth-platform/berth/internal/wire"
)

// Client is an HTTP client for GET /v1/tasks.
type Client struct {
	HTTP *http.Client // nil: a client without an overall timeout (long polls)
	// Secret is the agents' --agent-secret, sent as "Authorization:
	// Bearer <Secret>" ("" sends none).
	Secret string
}

// Tasks implements registrator.Agents.
func (c Client) Tasks(ctx context.Context, agentURL string, index uint64, wait time.Duration) (wire.AgentTasks, error) {
	var out wire.AgentTasks
	q := url.Values{}
	if index > 0 {
		q.Set("index", strconv.FormatUint(index, 10))
		q.Set("wait", wait.String())
	}
	u := strings.TrimSuffix(agentURL, "/") + "/v1/tasks"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	ctx, cancel := context.WithTimeout(ctx, wait+10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return out, fmt.Errorf("agent %s: tasks: %w", agentURL, err)
	}
	if c.Secret != "" {
		req.Header.Set("Authorization", "Bearer "+c.Secret)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return out, fmt.Errorf("agent %s: tasks: %w", agentURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return out, fmt.Errorf("agent %s: tasks: read: %w", agentURL, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e wire.Error
		_ = json.Unmarshal(body, &e)
		return out, fmt.Errorf("agent %s: tasks: %s: %s", agentURL, resp.Status, e.Message)
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return out, fmt.Errorf("agent %s: tasks: decode: %w", agentURL, err)
	}
	return out, nil
}
