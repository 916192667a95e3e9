package placement

import (
	"fmt"
	"slices"
)

// Default servicePort pool, Marathon's --local_port_min/max.
const (
	DefaultServicePortMin = 10000
	DefaultServicePortMax = 20000
)

// ServicePorts hands out cluster-wide servicePorts: 0 means the next free
// port of the pool, a fixed port must not be held by another app. It is
// not safe for concurrent use; the master serialises app changes.
type ServicePorts struct {
	min, max int
	next     int            // where the search for a free pool port starts
	holder   map[int]string // port -> app
	byApp    map[string][]int
}

// NewServicePorts makes an allocator over the inclusive pool [min, max];
// 0, 0 means 10000–20000.
func NewServicePorts(min, max int) (*ServicePorts, error) {
	if min == 0 && max == 0 {
		min, max = DefaultServicePortMin, DefaultServicePortMax
	}
	if min < 1 || max > 65535 || min > max {
		return nil, fmt.Errorf("servicePorts: invalid pool %d-%d", min, max)
	}
	return &ServicePorts{
		min: min, max: max, next: min,
		holder: make(map[int]string), byApp: make(map[string][]int),
	}, nil
}

// Allocate sets app's servicePorts to requested, in order: a 0 becomes one
// of the app's previous pool ports not otherwise requested, else the next
// free pool port; a fixed port (in the pool or not) must be free or held by
// app. On error nothing changes. The app's ports not in the result are
// released.
func (s *ServicePorts) Allocate(app string, requested []int) ([]int, error) {
	out := make([]int, len(requested))
	fixed := make(map[int]bool, len(requested))
	for k, p := range requested {
		if p < 0 || p > 65535 {
			return nil, fmt.Errorf("servicePorts: app %s: servicePort %d (index %d) out of range 0-65535", app, p, k)
		}
		if p == 0 {
			continue
		}
		if fixed[p] {
			return nil, fmt.Errorf("servicePorts: app %s: servicePort %d listed twice", app, p)
		}
		if h, ok := s.holder[p]; ok && h != app {
			return nil, fmt.Errorf("servicePorts: app %s: servicePort %d is already used by app %s", app, p, h)
		}
		fixed[p] = true
		out[k] = p
	}
	reuse := s.reusable(app, fixed)
	next := s.next
	for k, p := range requested {
		if p != 0 {
			continue
		}
		if len(reuse) > 0 {
			out[k], reuse = reuse[0], reuse[1:]
			continue
		}
		q, ok := s.findFree(next, fixed)
		if !ok {
			return nil, fmt.Errorf("servicePorts: app %s: pool %d-%d exhausted", app, s.min, s.max)
		}
		out[k], fixed[q] = q, true
		next = q + 1
	}
	s.Release(app)
	for _, p := range out {
		s.holder[p] = app
	}
	if len(out) > 0 {
		s.byApp[app] = slices.Clone(out)
	}
	s.next = next
	return out, nil
}

// reusable lists app's current pool ports that the request does not fix.
func (s *ServicePorts) reusable(app string, fixed map[int]bool) []int {
	var out []int
	for _, p := range s.byApp[app] {
		if p >= s.min && p <= s.max && !fixed[p] {
			out = append(out, p)
		}
	}
	return out
}

// findFree returns the first pool port from start on (wrapping) that
// nobody holds (app's own ports come through reuse) and the request does
// not use.
func (s *ServicePorts) findFree(start int, taken map[int]bool) (int, bool) {
	size := s.max - s.min + 1
	if start < s.min || start > s.max {
		start = s.min
	}
	for n := 0; n < size; n++ {
		p := s.min + (start-s.min+n)%size
		if _, held := s.holder[p]; held || taken[p] {
			continue
		}
		return p, true
	}
	return 0, false
}

// Release frees every servicePort app holds (app deleted).
func (s *ServicePorts) Release(app string) {
	for _, p := range s.byApp[app] {
		if s.holder[p] == app {
			delete(s.holder, p)
		}
	}
	delete(s.byApp, app)
}

// Ports returns app's servicePorts in allocation order.
func (s *ServicePorts) Ports(app string) []int { return slices.Clone(s.byApp[app]) }

// Holder returns the app holding port.
func (s *ServicePorts) Holder(port int) (string, bool) {
	h, ok := s.holder[port]
	return h, ok
}
