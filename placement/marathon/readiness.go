package marathon

import (
	"bytes"
	"encoding/json"
)

// ReadinessCheck is Marathon's readinessChecks entry. A deployment waits
// for every new task to pass it; it is not consulted afterwards.
type ReadinessCheck struct {
	Name                    string `json:"name"`
	Protocol                string `json:"protocol"`
	Path                    string `json:"path"`
	PortName                string `json:"portName"`
	IntervalSeconds         int    `json:"intervalSeconds"`
	TimeoutSeconds          int    `json:"timeoutSeconds"`
	HTTPStatusCodesForReady []int  `json:"httpStatusCodesForReady"`
	PreserveLastResponse    bool   `json:"preserveLastResponse"`
}

// readinessIn is a readiness check as sent: every field optional, so
// absent ones take Marathon's defaults.
type readinessIn struct {
	Name                    *string `json:"name"`
	Protocol                *string `json:"protocol"`
	Path                    *string `json:"path"`
	PortName                *string `json:"portName"`
	IntervalSeconds         *int    `json:"intervalSeconds"`
	TimeoutSeconds          *int    `json:"timeoutSeconds"`
	HTTPStatusCodesForReady []int   `json:"httpStatusCodesForReady"`
	PreserveLastResponse    *bool   `json:"preserveLastResponse"`
}

// ReadinessDefaults is a check with Marathon's defaults.
func ReadinessDefaults() ReadinessCheck {
	return ReadinessCheck{Name: "readinessCheck", Protocol: "HTTP", Path: "/", PortName: "http-api",
		IntervalSeconds: 30, TimeoutSeconds: 10, HTTPStatusCodesForReady: []int{200}}
}

// decodeReadiness fills Marathon's defaults into the sent checks and
// re-encodes them canonically; a malformed check is reported at its path.
func decodeReadiness(raw []json.RawMessage, v *Violations) []json.RawMessage {
	out := make([]json.RawMessage, 0, len(raw))
	for i, r := range raw {
		var in readinessIn
		dec := json.NewDecoder(bytes.NewReader(r))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			v.Add(pathIdx("/readinessChecks", i), "invalid readiness check: "+err.Error())
			continue
		}
		c := ReadinessDefaults()
		setStr(&c.Name, in.Name)
		setStr(&c.Protocol, in.Protocol)
		setStr(&c.Path, in.Path)
		setStr(&c.PortName, in.PortName)
		setInt(&c.IntervalSeconds, in.IntervalSeconds)
		setInt(&c.TimeoutSeconds, in.TimeoutSeconds)
		if in.HTTPStatusCodesForReady != nil {
			c.HTTPStatusCodesForReady = in.HTTPStatusCodesForReady
		}
		if in.PreserveLastResponse != nil {
			c.PreserveLastResponse = *in.PreserveLastResponse
		}
		b, _ := json.Marshal(c)
		out = append(out, b)
	}
	return out
}

// Readiness returns the app's readiness checks (already defaulted by
// Parse); an undecodable stored check is skipped.
func (a *App) Readiness() []ReadinessCheck {
	out := make([]ReadinessCheck, 0, len(a.ReadinessChecks))
	for _, r := range a.ReadinessChecks {
		var c ReadinessCheck
		if json.Unmarshal(r, &c) == nil {
			out = append(out, c)
		}
	}
	return out
}

// validateReadiness applies Marathon's readiness rules: at most one
// check, HTTP or HTTPS, a portName the app defines, positive interval and
// timeout with the timeout below the interval, status codes 100–999.
func validateReadiness(a *App, v *Violations) {
	checks := a.Readiness()
	if len(checks) > 1 {
		v.Add("/readinessChecks", "Only one readinessCheck is supported at the moment")
	}
	names := map[string]bool{}
	for _, n := range a.PortNames() {
		names[n] = true
	}
	for i, c := range checks {
		p := pathIdx("/readinessChecks", i)
		if c.Name == "" {
			v.Add(p+"/name", "must not be empty")
		}
		if c.Protocol != "HTTP" && c.Protocol != "HTTPS" {
			v.Add(p+"/protocol", "must be one of HTTP, HTTPS")
		}
		if !names[c.PortName] {
			v.Add(p+"/portName", "must be the name of a port definition or port mapping of the app ('"+c.PortName+"' is none)")
		}
		if c.IntervalSeconds < 1 {
			v.Add(p+"/intervalSeconds", "must be greater than 0")
		}
		if c.TimeoutSeconds < 1 {
			v.Add(p+"/timeoutSeconds", "must be greater than 0")
		} else if c.TimeoutSeconds >= c.IntervalSeconds && c.IntervalSeconds >= 1 {
			v.Add(p+"/timeoutSeconds", "must be smaller than intervalSeconds")
		}
		if len(c.HTTPStatusCodesForReady) == 0 {
			v.Add(p+"/httpStatusCodesForReady", "must not be empty")
		}
		for j, code := range c.HTTPStatusCodesForReady {
			if code < 100 || code > 999 {
				v.Add(pathIdx(p+"/httpStatusCodesForReady", j), "must be an HTTP status code (100–999)")
			}
		}
	}
}

// PortNames returns the app's port names in port index order ("" for an
// unnamed port).
func (a *App) PortNames() []string {
	if a.NetworkMode() == NetworkHost {
		out := make([]string, len(a.PortDefinitions))
		for i, pd := range a.PortDefinitions {
			out[i] = pd.Name
		}
		return out
	}
	if a.Container == nil {
		return nil
	}
	out := make([]string, len(a.Container.PortMappings))
	for i, pm := range a.Container.PortMappings {
		out[i] = pm.Name
	}
	return out
}
