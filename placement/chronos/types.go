package chronos

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Num is a JSON number that Chronos users also send as a string ("0.3").
type Num float64

// UnmarshalJSON accepts 0.5, "0.5" and "" (zero).
func (n *Num) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if s == "null" {
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
		if s == "" {
			*n = 0
			return nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("%s is not a number", string(b))
	}
	*n = Num(f)
	return nil
}

// Int is a whole JSON number, also accepted as a string ("2").
type Int int

// UnmarshalJSON accepts 2, "2" and 2.0.
func (n *Int) UnmarshalJSON(b []byte) error {
	var f Num
	if err := f.UnmarshalJSON(b); err != nil {
		return err
	}
	if float64(f) != float64(int64(f)) {
		return fmt.Errorf("%s is not a whole number", string(b))
	}
	*n = Int(f)
	return nil
}

// Bool is a JSON boolean, also accepted as "true"/"false".
type Bool bool

// UnmarshalJSON accepts true and "true".
func (v *Bool) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	switch strings.ToLower(s) {
	case "true":
		*v = true
	case "false", "", "null":
		*v = false
	default:
		return fmt.Errorf("%s is not a boolean", string(b))
	}
	return nil
}

// EnvVar is one of environmentVariables.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// KeyValue is a Docker parameter or a label.
type KeyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Volume is one of container.volumes: a host path bind-mounted into the
// container (Normalize refuses a volume without hostPath and an external
// one, rather than dropping them).
type Volume struct {
	ContainerPath string `json:"containerPath"`
	HostPath      string `json:"hostPath,omitempty"`
	Mode          string `json:"mode,omitempty"`
	// External is Chronos' external (volume driver) form; only read to
	// refuse it.
	External json.RawMessage `json:"external,omitempty"`
}

// Container is Chronos' container form (only recognised with an image).
type Container struct {
	Type           string     `json:"type"`
	Image          string     `json:"image"`
	Network        string     `json:"network"`
	NetworkName    string     `json:"networkName,omitempty"`
	Volumes        []Volume   `json:"volumes"`
	ForcePullImage Bool       `json:"forcePullImage"`
	Parameters     []KeyValue `json:"parameters"`
}

// Fetch is one of fetch (3.x) — the successor of uris.
type Fetch struct {
	URI        string `json:"uri"`
	Executable Bool   `json:"executable"`
	Cache      Bool   `json:"cache"`
	Extract    *Bool  `json:"extract,omitempty"`
	OutputFile string `json:"output_file,omitempty"`
}

// Constraint is one [attribute, operator, value] triple.
type Constraint struct {
	Field, Operator, Value string
}

// MarshalJSON writes the triple.
func (c Constraint) MarshalJSON() ([]byte, error) {
	return json.Marshal([]string{c.Field, c.Operator, c.Value})
}

// UnmarshalJSON reads the triple.
func (c *Constraint) UnmarshalJSON(b []byte) error {
	var t []string
	if err := json.Unmarshal(b, &t); err != nil || len(t) != 3 {
		return fmt.Errorf(`constraint %s: want ["attribute", "OPERATOR", "value"]`, string(b))
	}
	c.Field, c.Operator, c.Value = t[0], t[1], t[2]
	return nil
}
