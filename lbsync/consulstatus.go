package lbsync

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// ConsulStatus is lbsync's view of its Consul source (GET /routes
// "consul").
type ConsulStatus struct {
	// Address is Consul's HTTP address (ConsulSourceConfig.Address; ""
	// when the caller did not say).
	Address string `json:"address"`
	// LastSnapshot is when Consul last answered one of lbsync's blocking
	// queries (the catalog's or a service's): lbsync's view of Consul is
	// Consul's as of then. With nothing changing, a query answers at the
	// latest after its wait time (5 m).
	LastSnapshot time.Time `json:"lastSnapshot,omitzero"`
	// LastIndex is the highest Consul index among the last answers of
	// the running watches.
	LastIndex uint64 `json:"lastIndex"`
	// Error is the last error of a watch whose last query failed ("" when
	// every watch's last query succeeded); with several, the first by
	// name and how many more.
	Error string `json:"error"`
}

// ConsulStatuser is a Source that can report its Consul status
// (ConsulSource, and WithMaster around one).
type ConsulStatuser interface {
	ConsulStatus() (ConsulStatus, bool)
}

// consulHealth records the outcome of every watch's queries; safe for the
// watches' goroutines and the status handler.
type consulHealth struct {
	mu      sync.Mutex
	address string
	last    time.Time
	index   map[string]uint64 // by watch, its last answer's index
	errs    map[string]string // by watch, the error of its last query
}

func newConsulHealth(address string) *consulHealth {
	return &consulHealth{address: address, index: map[string]uint64{}, errs: map[string]string{}}
}

func (h *consulHealth) ok(watch string, index uint64, at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.last, h.index[watch] = at, index
	delete(h.errs, watch)
}

func (h *consulHealth) failed(watch string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.errs[watch] = watch + ": " + err.Error()
}

// gone forgets a watch that stopped (its service vanished, or shutdown).
func (h *consulHealth) gone(watch string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.index, watch)
	delete(h.errs, watch)
}

func (h *consulHealth) status() ConsulStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := ConsulStatus{Address: h.address, LastSnapshot: h.last}
	for _, i := range h.index {
		st.LastIndex = max(st.LastIndex, i)
	}
	if len(h.errs) > 0 {
		names := slices.Sorted(maps.Keys(h.errs))
		st.Error = h.errs[names[0]]
		if n := len(names) - 1; n > 0 {
			st.Error += fmt.Sprintf(" (and %d more failing)", n)
		}
	}
	return st
}
