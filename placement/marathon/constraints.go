package marathon

import (
	"regexp"
	"strconv"
	"strings"
)

var isValuePattern = regexp.MustCompile(`^[a-zA-Z0-9_/.-]*$`)

// ConstraintErrors returns Marathon's validation messages for one
// constraint (empty when valid).
func ConstraintErrors(c []string) []string {
	if len(c) < 2 || len(c) > 3 {
		return []string{"Each constraint must have either 2 or 3 fields"}
	}
	if c[0] == "" {
		return []string{"missing field for constraint declaration"}
	}
	op := strings.ToUpper(c[1])
	value, hasValue := "", len(c) == 3
	if hasValue {
		value = c[2]
	}
	switch op {
	case "UNIQUE":
		if hasValue && value != "" {
			return []string{"UNIQUE does not accept a value"}
		}
	case "CLUSTER":
	case "GROUP_BY":
		if hasValue && value != "" {
			if _, err := strconv.Atoi(value); err != nil {
				return []string{"GROUP BY must define an integer value or else no value at all"}
			}
		}
	case "MAX_PER":
		if _, err := strconv.Atoi(value); err != nil || !hasValue {
			return []string{"MAX_PER requires an integer value"}
		}
	case "LIKE", "UNLIKE":
		if value == "" {
			return []string{"LIKE and UNLIKE require a non-empty, regular expression value"}
		}
		if _, err := regexp.Compile("^(?:" + value + ")$"); err != nil {
			return []string{"'" + value + "' is not a valid regular expression"}
		}
	case "IS":
		if !isValuePattern.MatchString(value) {
			return []string{"IS only supports Mesos text and float values (see http://mesos.apache.org/documentation/latest/attributes-resources/)"}
		}
	default:
		return []string{"operator must be one of the following UNIQUE, CLUSTER, GROUP_BY, LIKE, MAX_PER, UNLIKE or IS"}
	}
	return nil
}
