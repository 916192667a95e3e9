package apiclient

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Group is Marathon's group (GET /v2/groups/{id}): its apps, with counts
// and deployments when asked for, and its subgroups.
type Group struct {
	ID           string   `json:"id"`
	Apps         []App    `json:"apps"`
	Groups       []Group  `json:"groups"`
	Dependencies []string `json:"dependencies"`
	Version      string   `json:"version"`
}

func groupPath(id string) string {
	if strings.Trim(id, "/") == "" {
		return "/v2/groups"
	}
	return "/v2/groups" + escapeID(id)
}

// Group reads group id ("/" for the root) with its subgroups and apps,
// the apps with their counts and deployments.
func (c *Client) Group(ctx context.Context, id string) (*Group, error) {
	q := url.Values{"embed": {"group.groups", "group.apps", "group.apps.counts", "group.apps.deployments"}}
	var g Group
	if _, err := c.do(ctx, request{method: http.MethodGet, path: groupPath(id), query: q}, &g); err != nil {
		return nil, err
	}
	if g.ID == "" {
		return nil, fmt.Errorf("GET %s: answer has no group", groupPath(id))
	}
	return &g, nil
}

// CreateGroup creates a group from its JSON definition (POST /v2/groups).
func (c *Client) CreateGroup(ctx context.Context, def []byte) (DeploymentResult, error) {
	var res DeploymentResult
	_, err := c.do(ctx, request{method: http.MethodPost, path: "/v2/groups", body: def}, &res)
	return res, err
}

// DestroyGroup stops every app below group id and removes it
// (DELETE /v2/groups/{id}).
func (c *Client) DestroyGroup(ctx context.Context, id string, force bool) (DeploymentResult, error) {
	var q url.Values
	if force {
		q = url.Values{"force": {"true"}}
	}
	var res DeploymentResult
	_, err := c.do(ctx, request{method: http.MethodDelete, path: groupPath(id), query: q}, &res)
	return res, err
}
