package placement

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Operator is a Marathon constraint operator.
type Operator string

// The Marathon operators.
const (
	Unique  Operator = "UNIQUE"
	Cluster Operator = "CLUSTER"
	GroupBy Operator = "GROUP_BY"
	Like    Operator = "LIKE"
	Unlike  Operator = "UNLIKE"
	MaxPer  Operator = "MAX_PER"
	Is      Operator = "IS"
)

// Constraint is one parsed Marathon constraint. Build it with
// ParseConstraint(s); a hand-built one is validated when placed, and an
// invalid one rejects every agent with the error as the reason.
type Constraint struct {
	Field string
	Op    Operator
	// Value is the third element as given ("" when absent).
	Value string
	// Count is MAX_PER's limit and GROUP_BY's expected number of distinct
	// values (0 = no value).
	Count int

	re *regexp.Regexp // LIKE/UNLIKE, anchored at both ends
}

// String is the constraint as explanations show it: `rack LIKE r[1-2]`.
func (c Constraint) String() string {
	if c.Value == "" {
		return c.Field + " " + string(c.Op)
	}
	return c.Field + " " + string(c.Op) + " " + c.Value
}

// ConstraintError is a constraint that failed validation; the master turns
// it into a 422.
type ConstraintError struct {
	Index      int      // position in the constraints list
	Constraint []string // as given
	Msg        string   // Marathon's wording
}

func (e *ConstraintError) Error() string {
	return fmt.Sprintf("constraint %d %q: %s", e.Index, e.Constraint, e.Msg)
}

// ParseConstraints validates and parses Marathon constraints (2 or 3
// strings each, operator case-insensitive). The error joins one
// *ConstraintError per invalid constraint.
func ParseConstraints(raw [][]string) ([]Constraint, error) {
	out := make([]Constraint, 0, len(raw))
	var errs []error
	for i, r := range raw {
		c, err := ParseConstraint(r)
		if err != nil {
			var ce *ConstraintError
			if errors.As(err, &ce) {
				ce.Index = i
			}
			errs = append(errs, err)
			continue
		}
		out = append(out, c)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// ParseConstraint validates and parses one constraint.
func ParseConstraint(r []string) (Constraint, error) {
	fail := func(msg string) (Constraint, error) {
		return Constraint{}, &ConstraintError{Constraint: append([]string(nil), r...), Msg: msg}
	}
	if len(r) != 2 && len(r) != 3 {
		return fail("Each constraint must have either 2 or 3 fields")
	}
	c := Constraint{Field: r[0], Op: Operator(strings.ToUpper(r[1]))}
	hasValue := len(r) == 3
	if hasValue {
		c.Value = r[2]
	}
	if c.Field == "" {
		return fail("missing field for constraint declaration")
	}
	if msg := c.prepare(hasValue); msg != "" {
		return fail(msg)
	}
	return c, nil
}

// prepare validates c and fills Count and re; it returns Marathon's message
// for an invalid constraint, or "".
func (c *Constraint) prepare(hasValue bool) string {
	switch c.Op {
	case Unique:
		if hasValue && c.Value != "" {
			return "UNIQUE does not accept a value"
		}
	case Cluster:
	case GroupBy:
		if c.Value == "" {
			c.Count = 0
			return ""
		}
		n, err := strconv.Atoi(c.Value)
		if err != nil || n < 0 {
			return "GROUP BY must define an integer value or else no value at all"
		}
		c.Count = n
	case MaxPer:
		n, err := strconv.Atoi(c.Value)
		if err != nil || n < 0 {
			return "MAX_PER requires an integer value"
		}
		c.Count = n
	case Like, Unlike:
		if c.Value == "" {
			return "LIKE and UNLIKE require a non-empty, regular expression value"
		}
		re, err := regexp.Compile(`^(?:` + c.Value + `)$`)
		if err != nil {
			return fmt.Sprintf("'%s' is not a valid regular expression", c.Value)
		}
		c.re = re
	case Is:
		if !isTextOrScalar(c.Value) {
			return fmt.Sprintf("IS only supports Mesos text and float values (got '%s')", c.Value)
		}
	default:
		return "operator must be one of the following UNIQUE, CLUSTER, GROUP_BY, LIKE, MAX_PER, UNLIKE or IS"
	}
	return ""
}

// isTextOrScalar reports whether s matches ^[a-zA-Z0-9_/.-]*$.
func isTextOrScalar(s string) bool {
	for i := 0; i < len(s); i++ {
		b := s[i]
		ok := b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' ||
			b == '_' || b == '/' || b == '.' || b == '-'
		if !ok {
			return false
		}
	}
	return true
}

// isMatcher returns the comparison IS uses: if the constraint value parses
// as a number both sides compare after 3-decimal formatting.
func isMatcher(value string) func(string) bool {
	f, ok := parseScalar(value)
	if !ok {
		return func(s string) bool { return s == value }
	}
	want := FormatScalar(f)
	return func(s string) bool {
		g, ok := parseScalar(s)
		return ok && FormatScalar(g) == want
	}
}

// parseScalar parses a finite number.
func parseScalar(s string) (float64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
}

// fieldValue resolves a constraint field on an agent: (value, found).
func fieldValue(a *Agent, field string) (string, bool) {
	switch field {
	case "hostname", "@hostname":
		return a.Hostname, a.Hostname != ""
	case "@zone":
		return a.Zone, a.Zone != ""
	case "@region":
		return a.Region, a.Region != ""
	}
	v, ok := a.Attributes[field]
	if !ok {
		return "", false
	}
	return v.String(), true
}

// canonicalField maps field aliases to one column name.
func canonicalField(field string) string {
	if field == "@hostname" {
		return "hostname"
	}
	return field
}
