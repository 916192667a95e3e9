package marathon

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

var typeOfUnreachable = reflect.TypeOf(UnreachableStrategy{})

// Detail is one entry of an error body's details: every message about one
// JSON path.
type Detail struct {
	Path   string   `json:"path"`
	Errors []string `json:"errors"`
}

// Error is a client error in Marathon's shape: 400 "Invalid JSON" or 422
// "Object is not valid", with details per path.
type Error struct {
	Status  int      `json:"-"`
	Message string   `json:"message"`
	Details []Detail `json:"details"`
}

func (e *Error) Error() string {
	var parts []string
	for _, d := range e.Details {
		parts = append(parts, d.Path+": "+strings.Join(d.Errors, "; "))
	}
	return fmt.Sprintf("%s (%s)", e.Message, strings.Join(parts, ", "))
}

// Violations collects validation messages per path, in first-seen order.
type Violations struct {
	order []string
	byKey map[string][]string
}

// Add records msg at path.
func (v *Violations) Add(path, msg string) {
	if v.byKey == nil {
		v.byKey = map[string][]string{}
	}
	if _, ok := v.byKey[path]; !ok {
		v.order = append(v.order, path)
	}
	v.byKey[path] = append(v.byKey[path], msg)
}

// Addf records a formatted message at path.
func (v *Violations) Addf(path, format string, args ...any) {
	v.Add(path, fmt.Sprintf(format, args...))
}

// Empty reports whether nothing was recorded.
func (v *Violations) Empty() bool { return len(v.order) == 0 }

// Err returns nil or the 422 error.
func (v *Violations) Err() error {
	if v.Empty() {
		return nil
	}
	e := &Error{Status: 422, Message: "Object is not valid"}
	for _, p := range v.order {
		e.Details = append(e.Details, Detail{Path: p, Errors: v.byKey[p]})
	}
	return e
}

// InvalidJSON converts an encoding/json error to Marathon's 400 shape with
// play-json style codes.
func InvalidJSON(err error) *Error {
	e := &Error{Status: 400, Message: "Invalid JSON"}
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		path := "/" + strings.ReplaceAll(te.Field, ".", "/")
		e.Details = []Detail{{Path: path, Errors: []string{expectedCode(te.Type)}}}
	case errors.As(err, &se):
		e.Details = []Detail{{Path: "/", Errors: []string{"error.invalid.json: " + se.Error()}}}
	default:
		e.Details = []Detail{{Path: "/", Errors: []string{"error.invalid.json: " + err.Error()}}}
	}
	return e
}

func expectedCode(t reflect.Type) string {
	if t == nil {
		return "error.expected.jsvalue"
	}
	if t == typeOfUnreachable {
		return "error.expected.jsobject"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "error.expected.jsstring"
	case reflect.Bool:
		return "error.expected.jsboolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "error.expected.int"
	case reflect.Float32, reflect.Float64:
		return "error.expected.jsnumber"
	case reflect.Slice, reflect.Array:
		return "error.expected.jsarray"
	default:
		return "error.expected.jsobject"
	}
}

// sortedKeys returns m's keys sorted.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
