package master

import (
	"sort"
	"strings"

	"github.com/berth-platform/berth/placement/marathon"
)

// Store buckets of groups.
const (
	bucketGroups        = "groups"
	bucketGroupVersions = "groupversions"
)

// groupMeta is what the store keeps of a group beyond its apps (bucket
// groups): a group exists when it has apps, subgroups or such a record.
type groupMeta struct {
	ID           string   `json:"id"`
	Dependencies []string `json:"dependencies"`
	Version      string   `json:"version"`
	EnforceRole  *bool    `json:"enforceRole,omitempty"`
}

// groupNode is one group of the tree derived from app ids and metas.
type groupNode struct {
	ID           string
	Apps         []string // direct apps, sorted
	Groups       []*groupNode
	Dependencies []string
	Version      string // the newest version in the subtree
}

// buildGroups derives the group tree from the apps (id → version) and
// the stored group records; the index has every group, "/" included.
func buildGroups(apps map[string]string, metas map[string]*groupMeta) map[string]*groupNode {
	idx := map[string]*groupNode{}
	var node func(id string) *groupNode
	node = func(id string) *groupNode {
		if n, ok := idx[id]; ok {
			return n
		}
		n := &groupNode{ID: id, Dependencies: []string{}}
		idx[id] = n
		if id != "/" {
			p := node(marathon.ParentOf(id))
			p.Groups = append(p.Groups, n)
		}
		return n
	}
	node("/")
	for id, meta := range metas {
		n := node(id)
		if meta.Dependencies != nil {
			n.Dependencies = meta.Dependencies
		}
		n.Version = meta.Version
	}
	for id := range apps {
		n := node(marathon.ParentOf(id))
		n.Apps = append(n.Apps, id)
	}
	var settle func(n *groupNode) string
	settle = func(n *groupNode) string {
		sort.Strings(n.Apps)
		sort.Slice(n.Groups, func(i, j int) bool { return n.Groups[i].ID < n.Groups[j].ID })
		for _, a := range n.Apps {
			n.Version = max(n.Version, apps[a])
		}
		for _, g := range n.Groups {
			n.Version = max(n.Version, settle(g))
		}
		return n.Version
	}
	settle(idx["/"])
	return idx
}

// subtreeApps lists every app below n, sorted.
func subtreeApps(n *groupNode) []string {
	out := append([]string(nil), n.Apps...)
	for _, g := range n.Groups {
		out = append(out, subtreeApps(g)...)
	}
	sort.Strings(out)
	return out
}

// subtreeGroups lists n and every group below it.
func subtreeGroups(n *groupNode) []string {
	out := []string{n.ID}
	for _, g := range n.Groups {
		out = append(out, subtreeGroups(g)...)
	}
	return out
}

// within reports whether id is base or below it.
func within(id, base string) bool {
	return base == "/" || id == base || strings.HasPrefix(id, base+"/")
}

// effectiveDeps are the app ids an app depends on: its own dependencies
// and those of every group it is in, a group standing for all the apps
// below it. A group the app itself is in is not a dependency of it.
func effectiveDeps(appID string, own []string, idx map[string]*groupNode, apps map[string]string) []string {
	all := append([]string(nil), own...)
	for g := marathon.ParentOf(appID); ; g = marathon.ParentOf(g) {
		if n := idx[g]; n != nil {
			all = append(all, n.Dependencies...)
		}
		if g == "/" {
			break
		}
	}
	set := map[string]bool{}
	for _, d := range all {
		if _, isApp := apps[d]; isApp {
			set[d] = true
			continue
		}
		n := idx[d]
		if n == nil {
			set[d] = true // unknown: ignored by the ordering
			continue
		}
		if within(appID, d) {
			continue
		}
		for _, a := range subtreeApps(n) {
			set[a] = true
		}
	}
	delete(set, appID)
	out := make([]string, 0, len(set))
	for d := range set {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}
