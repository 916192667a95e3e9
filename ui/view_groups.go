package ui

import (
	"sort"
	"strings"

	"github.com/berth-platform/berth/internal/apiclient"
)

// GroupNode is one group of the apps tree: its sub-groups and apps, and
// the totals over everything below it.
type GroupNode struct {
	ID, Name                     string
	Groups                       []*GroupNode
	Apps                         []AppRow
	AppCount, Instances, Running int
	Healthy, Unhealthy           int
	// Dependencies are the group's, when the API lists groups.
	Dependencies []string
}

// GroupsPage is the apps as a tree of groups.
type GroupsPage struct {
	Page
	Root *GroupNode
}

// groupJSON is one group of GET /v2/groups (Marathon's shape), the
// fields the tree shows.
type groupJSON struct {
	ID           string      `json:"id"`
	Dependencies []string    `json:"dependencies"`
	Groups       []groupJSON `json:"groups"`
}

// GroupsView is the tree of the apps' groups: every app sits under the
// groups its id names (/shop/web is app web of group /shop); groups, when
// the API lists them (nil otherwise), add their dependencies and the
// groups without apps.
func GroupsView(apps []apiclient.App, queue []apiclient.QueueEntry, groups *groupJSON) GroupsPage {
	root := &GroupNode{ID: "/", Name: "/"}
	index := map[string]*GroupNode{"/": root}
	var node func(id string) *GroupNode
	node = func(id string) *GroupNode {
		if n, ok := index[id]; ok {
			return n
		}
		parent := id[:strings.LastIndex(id, "/")]
		if parent == "" {
			parent = "/"
		}
		n := &GroupNode{ID: id, Name: id[strings.LastIndex(id, "/")+1:]}
		index[id] = n
		p := node(parent)
		p.Groups = append(p.Groups, n)
		return n
	}
	var walk func(g groupJSON)
	walk = func(g groupJSON) {
		if id := normalizeID(g.ID); id != "/" {
			node(id).Dependencies = g.Dependencies
		} else {
			root.Dependencies = g.Dependencies
		}
		for _, sub := range g.Groups {
			walk(sub)
		}
	}
	if groups != nil {
		walk(*groups)
	}
	byApp := queueByApp(queue)
	for i := range apps {
		a := &apps[i]
		parent := a.ID[:strings.LastIndex(a.ID, "/")]
		if parent == "" {
			parent = "/"
		}
		n := node(parent)
		n.Apps = append(n.Apps, appRow(a, byApp[a.ID]))
		for m := n; ; {
			m.AppCount++
			m.Instances += a.Instances
			m.Running += a.TasksRunning
			m.Healthy += a.TasksHealthy
			m.Unhealthy += a.TasksUnhealthy
			if m == root {
				break
			}
			pid := m.ID[:strings.LastIndex(m.ID, "/")]
			if pid == "" {
				pid = "/"
			}
			m = index[pid]
		}
	}
	for _, n := range index {
		sort.Slice(n.Groups, func(i, j int) bool { return n.Groups[i].ID < n.Groups[j].ID })
		sort.Slice(n.Apps, func(i, j int) bool { return n.Apps[i].ID < n.Apps[j].ID })
	}
	return GroupsPage{Page: Page{Title: "Groups", Nav: "apps"}, Root: root}
}
