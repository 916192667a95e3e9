package marathon

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
)

// Group is a decoded group body (Marathon's GroupUpdate: POST, PUT and
// PATCH /v2/groups) with every id absolute: nested group and app ids are
// resolved against their enclosing group, the group's dependencies against
// the group itself ("../db" is a sibling). A nil Apps, Groups or Dependencies was absent from the
// body (keep what is there); an empty one was given empty.
type Group struct {
	ID           string
	Apps         []*App
	Groups       []*Group
	Dependencies []string
	// ScaleBy multiplies the instances of every app below the group.
	ScaleBy *float64
	// Version rolls the group back to one of its stored versions.
	Version *string
	// EnforceRole is accepted and kept (Marathon 1.9+); Berth has no roles.
	EnforceRole *bool
}

// groupIn is the wire form of one group body.
type groupIn struct {
	ID           *string           `json:"id"`
	Apps         []json.RawMessage `json:"apps"`
	Groups       []json.RawMessage `json:"groups"`
	Pods         []json.RawMessage `json:"pods"`
	Dependencies []string          `json:"dependencies"`
	ScaleBy      *float64          `json:"scaleBy"`
	Version      *string           `json:"version"`
	EnforceRole  *bool             `json:"enforceRole"`
}

// AppParser decodes and validates one app of a group, resolving a
// relative id against base.
type AppParser func(data []byte, base string) (*App, error)

// ParseGroup decodes a group body. The group's id is the body's id
// resolved against base, or def when the body has none. Errors are
// *Error with paths into the body (/apps(1)/cpus, /groups(0)/id).
func ParseGroup(data []byte, base, def string, parse AppParser) (*Group, error) {
	var v Violations
	g := parseGroup(bytes.TrimSpace(data), "", base, def, parse, &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	return g, nil
}

func parseGroup(data []byte, path, base, def string, parse AppParser, v *Violations) *Group {
	if len(data) == 0 || data[0] != '{' {
		v.Add(orRoot(path), "error.expected.jsobject")
		return nil
	}
	var in groupIn
	if err := json.Unmarshal(data, &in); err != nil {
		ie := InvalidJSON(err)
		for _, d := range ie.Details {
			for _, e := range d.Errors {
				v.Add(path+strings.TrimSuffix(d.Path, "/"), e)
			}
		}
		return nil
	}
	g := &Group{ID: def, ScaleBy: in.ScaleBy, Version: in.Version, EnforceRole: in.EnforceRole}
	if in.ID != nil {
		g.ID = ResolveID(*in.ID, base)
	}
	if !validGroupID(g.ID, path+"/id", v) {
		return nil
	}
	if path != "" && parentOf(g.ID) != base {
		v.Add(path+"/id", "Identifier "+g.ID+" is not child of '"+base+"'. Hint: use relative paths.")
		return nil
	}
	if len(in.Pods) > 0 {
		v.Add(path+"/pods", "Pods are not supported by Berth: deploy the containers as apps")
	}
	if in.Dependencies != nil {
		g.Dependencies = make([]string, len(in.Dependencies))
		for i, d := range in.Dependencies {
			g.Dependencies[i] = ResolveID(d, g.ID)
			if g.Dependencies[i] == g.ID {
				v.Add(pathIdx(path+"/dependencies", i), "a group cannot depend on itself")
			}
		}
	}
	if in.ScaleBy != nil && *in.ScaleBy < 0 {
		v.Addf(path+"/scaleBy", "got %v, expected 0.0 or more", *in.ScaleBy)
	}
	if in.Version != nil && (in.Apps != nil || in.Groups != nil || in.ScaleBy != nil || in.Dependencies != nil) {
		v.Add(orRoot(path), "The 'version' field may only be combined with the 'id' field.")
	}
	if in.ScaleBy != nil && (in.Apps != nil || in.Groups != nil) {
		v.Add(orRoot(path), "The 'scaleBy' field may only be combined with the 'id' field.")
	}
	if in.Apps != nil {
		g.Apps = []*App{}
		for i, raw := range in.Apps {
			if app := groupApp(raw, pathIdx(path+"/apps", i), g.ID, parse, v); app != nil {
				g.Apps = append(g.Apps, app)
			}
		}
	}
	if in.Groups != nil {
		g.Groups = []*Group{}
		for i, raw := range in.Groups {
			p := pathIdx(path+"/groups", i)
			if sub := parseGroup(bytes.TrimSpace(raw), p, g.ID, "", parse, v); sub != nil {
				g.Groups = append(g.Groups, sub)
			}
		}
	}
	checkDuplicates(g, path, v)
	return g
}

func orRoot(path string) string {
	if path == "" {
		return "/"
	}
	return path
}

func groupApp(raw []byte, path, group string, parse AppParser, v *Violations) *App {
	app, err := parse(raw, group)
	if err != nil {
		var me *Error
		if !errors.As(err, &me) {
			v.Add(path, err.Error())
			return nil
		}
		for _, d := range me.Details {
			for _, e := range d.Errors {
				v.Add(path+strings.TrimSuffix(d.Path, "/"), e)
			}
		}
		return nil
	}
	if parentOf(app.ID) != group {
		v.Add(path+"/id", "Identifier "+app.ID+" is not child of '"+group+"'. Hint: use relative paths.")
		return nil
	}
	return app
}

// checkDuplicates rejects an id given twice among a group's apps and
// groups.
func checkDuplicates(g *Group, path string, v *Violations) {
	seen := map[string]bool{}
	for i, a := range g.Apps {
		if seen[a.ID] {
			v.Add(pathIdx(path+"/apps", i)+"/id", "Identifier "+a.ID+" is given more than once")
		}
		seen[a.ID] = true
	}
	for i, s := range g.Groups {
		if seen[s.ID] {
			v.Add(pathIdx(path+"/groups", i)+"/id", "Identifier "+s.ID+" is given more than once")
		}
		seen[s.ID] = true
	}
}

// validGroupID checks an absolute group id ("/" is the root group).
func validGroupID(id, path string, v *Violations) bool {
	if id == "" {
		v.Add(path, "error.path.missing")
		return false
	}
	if id == "/" {
		return true
	}
	var tmp Violations
	validateID(id, &tmp)
	if !tmp.Empty() {
		for _, msgs := range tmp.byKey {
			for _, m := range msgs {
				v.Add(path, m)
			}
		}
		return false
	}
	return true
}

// ParentOf is the group an id belongs to ("/" for top-level ids).
func ParentOf(id string) string { return parentOf(id) }
