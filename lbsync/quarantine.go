package lbsync

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
)

// Apply makes HAProxy serve m (see apply). When m's config fails
// validation, the servicePorts whose configuration is new or changed since
// the last applied model are suspects: each is let back in alone if the
// result still validates; the others are held back (kept as they were, or
// left out if new) and the rest is applied, so one app's bad label cannot
// freeze every other app's updates (marathon-lb's most reported failure).
// The validation error is still returned: it is counted and shown in
// /routes.
func (h *HAProxyTarget) Apply(ctx context.Context, m Model) (Outcome, error) {
	if h.cfg.PortFree == nil || (!h.loaded && h.cfg.Adopted) {
		return h.applyChecked(ctx, m)
	}
	held, perrs := heldPorts(h.applied, m, h.cfg.PortFree)
	if len(held) == 0 {
		return h.applyChecked(ctx, m)
	}
	out, err := h.applyChecked(ctx, without(m, held))
	perr := fmt.Errorf("servicePorts %v held back: %w", held, errors.Join(perrs...))
	if err != nil {
		return out, errors.Join(err, perr)
	}
	return out, perr
}

func (h *HAProxyTarget) applyChecked(ctx context.Context, m Model) (Outcome, error) {
	out, err := h.apply(ctx, m)
	if err == nil {
		h.applied = m
		return out, nil
	}
	var verr *ValidationError
	if !errors.As(err, &verr) {
		return out, err
	}
	fallback, suspects := Quarantine(h.applied, m)
	if len(suspects) == 0 {
		return out, err
	}
	// Let each suspect back in on its own if the result validates: the
	// held-back set ends up being the servicePorts that break the config.
	var held []int
	for _, port := range suspects {
		candidate := WithService(fallback, m, port)
		if h.valid(ctx, candidate) {
			fallback = candidate
		} else {
			held = append(held, port)
		}
	}
	if len(held) == 0 {
		return out, err // each change validates alone, only together they fail
	}
	fout, ferr := h.apply(ctx, fallback)
	if ferr != nil {
		return out, err // the fallback fails too: report the original error
	}
	h.applied = fallback
	fout.Why = fmt.Sprintf("%s; held back servicePorts %v (new config failed validation)", fout.Why, held)
	return fout, fmt.Errorf("%w; everything else applied, servicePorts %v held back", err, held)
}

// Quarantine returns next with every servicePort whose configuration
// (anything but its backends) is new or differs from prev replaced by
// prev's version with next's backends, or dropped if prev had none under
// the same name; held lists those servicePorts. It is pure.
func Quarantine(prev, next Model) (fallback Model, held []int) {
	old := map[int]Service{}
	for _, s := range prev.Services {
		old[s.ServicePort] = s
	}
	fallback = Model{HTTPPort: next.HTTPPort}
	for _, s := range next.Services {
		p, ok := old[s.ServicePort]
		switch {
		case ok && sameShape(p, s):
			fallback.Services = append(fallback.Services, s)
		case ok && p.Name == s.Name:
			p.Backends = s.Backends
			fallback.Services = append(fallback.Services, p)
			held = append(held, s.ServicePort)
		default:
			held = append(held, s.ServicePort)
		}
	}
	for _, s := range fallback.Services {
		if s.ServicePort == next.HTTPPort {
			fallback.Default = s.Name
		}
	}
	fallback.Routes = buildRoutes(fallback.Services, func(string, string, ...any) {})
	return fallback, held
}

func sameShape(a, b Service) bool {
	a.Backends, b.Backends = nil, nil
	a.Excluded, b.Excluded = nil, nil
	return reflect.DeepEqual(a, b)
}

// WithService returns m with servicePort port's service taken from next
// (added, or replacing m's); routes and default are recomputed. It is pure.
func WithService(m, next Model, port int) Model {
	out := Model{HTTPPort: m.HTTPPort}
	var add *Service
	for i := range next.Services {
		if next.Services[i].ServicePort == port {
			add = &next.Services[i]
		}
	}
	for _, s := range m.Services {
		if add != nil && s.ServicePort > port {
			out.Services = append(out.Services, *add)
			add = nil
		}
		if s.ServicePort != port {
			out.Services = append(out.Services, s)
		}
	}
	if add != nil {
		out.Services = append(out.Services, *add)
	}
	for _, s := range out.Services {
		if s.ServicePort == out.HTTPPort {
			out.Default = s.Name
		}
	}
	out.Routes = buildRoutes(out.Services, func(string, string, ...any) {})
	return out
}

// valid renders m as apply would and runs the validator on it.
func (h *HAProxyTarget) valid(ctx context.Context, m Model) bool {
	full, err := Render(h.cfg.Template, BuildHAProxyView(m, AssignSlots(h.slots, m), h.cfg.Settings))
	if err != nil {
		return false
	}
	tmp, err := h.writeTemp(full)
	if err != nil {
		return false
	}
	defer os.Remove(tmp)
	return h.cfg.HAProxy.Validate(ctx, tmp) == nil
}
