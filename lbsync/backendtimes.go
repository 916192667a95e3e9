package lbsync

import "time"

// LiveBackends is a Target that can say which instances (Consul service
// IDs) its load balancer serves since its last successful change
// (HAProxyTarget); the Syncer stamps Backend.RoutedAt from it.
type LiveBackends interface {
	LiveIDs() map[string]bool
}

// backendTimes is the shell's record, by Consul service ID, of when lbsync
// first saw an instance passing in a snapshot and when it first applied
// it to the load balancer. An instance that stops passing or leaves is
// forgotten, so one that comes back gets new times. Owned by the loop.
type backendTimes struct {
	inConsul map[string]time.Time
	routed   map[string]time.Time
}

func newBackendTimes() *backendTimes {
	return &backendTimes{inConsul: map[string]time.Time{}, routed: map[string]time.Time{}}
}

// seen records the passing instances of snap at now and forgets the rest.
func (b *backendTimes) seen(snap Snapshot, now time.Time) {
	passing := make(map[string]bool, len(snap.Instances))
	for _, in := range snap.Instances {
		if in.Status != "" && in.Status != StatusPassing { // "": no checks, as BuildModel
			continue
		}
		passing[in.ID] = true
		if _, ok := b.inConsul[in.ID]; !ok {
			b.inConsul[in.ID] = now
		}
	}
	for id := range b.inConsul {
		if !passing[id] {
			delete(b.inConsul, id)
			delete(b.routed, id)
		}
	}
}

// applied records, at now, the live instances lbsync has seen passing
// and forgets routed times of instances no longer live.
func (b *backendTimes) applied(live map[string]bool, now time.Time) {
	for id := range live {
		if _, ok := b.routed[id]; ok {
			continue
		}
		if _, ok := b.inConsul[id]; ok {
			b.routed[id] = now
		}
	}
	for id := range b.routed {
		if !live[id] {
			delete(b.routed, id)
		}
	}
}

// fill returns services with each backend's times (the model's slices
// are not changed).
func (b *backendTimes) fill(services []Service) []Service {
	out := make([]Service, len(services))
	copy(out, services)
	for i := range out {
		if len(out[i].Backends) == 0 {
			continue
		}
		backends := make([]Backend, len(out[i].Backends))
		copy(backends, out[i].Backends)
		for j := range backends {
			backends[j].InConsulAt = b.inConsul[backends[j].ID]
			backends[j].RoutedAt = b.routed[backends[j].ID]
		}
		out[i].Backends = backends
	}
	return out
}
