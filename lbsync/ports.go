package lbsync

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"syscall"
)

// PortInUseError says that another process listens on a port lbsync's
// HAProxy would bind. HAProxy binds with SO_REUSEPORT, so a second HAProxy
// (or anything else using SO_REUSEPORT) on the same port would silently
// share the connections; lbsync refuses instead.
type PortInUseError struct {
	Port int
	Use  string // "the HTTP port", "servicePort 10001 (/web)", …
	Err  error
}

func (e *PortInUseError) Error() string {
	return fmt.Sprintf("port %d (%s) is already in use by another process: %v", e.Port, e.Use, e.Err)
}

func (e *PortInUseError) Unwrap() error { return e.Err }

// ProbePort reports whether port can be bound on bind ("" = every
// address) by trying to listen there without SO_REUSEPORT: if another
// process listens on it — with or without SO_REUSEPORT — the bind fails.
func ProbePort(bind string, port int) error {
	ln, err := net.Listen("tcp", net.JoinHostPort(bind, strconv.Itoa(port)))
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return err
		}
		return nil // e.g. a privileged port: HAProxy's own bind will tell
	}
	return ln.Close()
}

// CheckPortsFree returns a PortInUseError for the first of ports (name →
// use) that another process already listens on.
func CheckPortsFree(bind string, ports map[int]string) error {
	for _, p := range slices.Sorted(maps.Keys(ports)) {
		if err := ProbePort(bind, p); err != nil {
			return &PortInUseError{Port: p, Use: ports[p], Err: err}
		}
	}
	return nil
}

// heldPorts returns the servicePorts of m that are new since prev (the
// model HAProxy runs) and that another process listens on, with the error
// naming each. Ports HAProxy already binds are never probed.
func heldPorts(prev, m Model, free func(int) error) (held []int, errs []error) {
	have := map[int]bool{}
	for _, s := range prev.Services {
		have[s.FrontendPort()] = true
	}
	for _, s := range m.Services {
		if have[s.FrontendPort()] || s.ServicePort == m.HTTPPort {
			continue
		}
		if err := free(s.FrontendPort()); err != nil {
			held = append(held, s.ServicePort)
			errs = append(errs, &PortInUseError{Port: s.FrontendPort(), Use: "servicePort of " + s.App, Err: err})
		}
	}
	return held, errs
}

// without returns m minus the services on ports; routes and default are
// recomputed. It is pure.
func without(m Model, ports []int) Model {
	out := Model{HTTPPort: m.HTTPPort}
	for _, s := range m.Services {
		if !slices.Contains(ports, s.ServicePort) {
			out.Services = append(out.Services, s)
			if s.ServicePort == m.HTTPPort {
				out.Default = s.Name
			}
		}
	}
	out.Routes = buildRoutes(out.Services, func(string, string, ...any) {})
	return out
}
