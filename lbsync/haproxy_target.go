package lbsync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"text/template"
	"time"
)

// HAProxy is what the HAProxy target needs from a running HAProxy;
// lbsync/haproxy.Process implements it.
type HAProxy interface {
	Validate(ctx context.Context, path string) error
	// Start starts HAProxy with the live config unless it runs already.
	Start(ctx context.Context) (started bool, err error)
	// Reload reloads seamlessly and confirms it.
	Reload(ctx context.Context) error
	Runtime(ctx context.Context, cmds []string) error
	ServersState(ctx context.Context) ([]byte, error)
}

// ValidationError is a rendered config that its checker refused; the live
// config was not touched.
type ValidationError struct {
	Target string
	Err    error
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("%s: rendered config failed validation, live config kept: %v", e.Target, e.Err)
}

func (e *ValidationError) Unwrap() error { return e.Err }

// Actions an apply can take.
const (
	ActionNone    = "none"    // nothing changed
	ActionStart   = "start"   // HAProxy was started with the new config
	ActionRuntime = "runtime" // membership changed: Runtime API, no reload
	ActionReload  = "reload"  // new config, seamless reload
	ActionWrite   = "write"   // file written and reloaded (nginx)
	ActionPersist = "persist" // runtime changes written to the live file, no reload
)

// Outcome reports what one apply did.
type Outcome struct {
	Action   string
	Commands int // Runtime API commands sent
	// Why explains the decision, e.g. "only backend membership changed".
	Why string
}

// HAProxyTargetConfig configures an HAProxyTarget.
type HAProxyTargetConfig struct {
	HAProxy    HAProxy
	Template   *template.Template // default: templates/haproxy.cfg.tmpl
	Settings   HAProxySettings
	ConfigPath string // the live haproxy.cfg
	// PortFree, if set, is asked before a servicePort that HAProxy does
	// not bind yet goes into the config (ProbePort); a port another
	// process listens on is held back with a PortInUseError, everything
	// else is applied.
	PortFree func(port int) error
	// Adopted says HAProxy was already running when lbsync started: the
	// first apply does not probe the ports it binds.
	Adopted bool
	// Clock stamps starts and reloads (default RealClock).
	Clock  Clock
	Logger *slog.Logger
}

// HAProxyTarget keeps one HAProxy in step with the routing model. It is
// used by one goroutine (the Syncer's loop).
type HAProxyTarget struct {
	cfg      HAProxyTargetConfig
	slots    Slots
	lastFull []byte // the config HAProxy runs (file + runtime changes)
	lastSkel []byte // its skeleton (all slots free); nil forces a reload
	fileFull []byte // the live file's content
	loaded   bool
	applied  Model // the model HAProxy runs
	// live is the slots HAProxy serves since the last Runtime API call,
	// start or reload that returned ok (LiveIDs).
	live Slots

	smu          sync.Mutex // guards the last start/reload (HAProxyStatus)
	reloadAt     time.Time
	reloadAction string
	reloadErr    string
}

// NewHAProxyTarget returns a target; nothing happens until Apply.
func NewHAProxyTarget(cfg HAProxyTargetConfig) *HAProxyTarget {
	if cfg.Template == nil {
		cfg.Template = DefaultHAProxyTemplate()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = RealClock{}
	}
	return &HAProxyTarget{cfg: cfg}
}

// apply makes HAProxy serve m. Membership-only changes go through the
// Runtime API; anything else is rendered, validated, swapped in (the
// previous file kept as .bak) and reloaded. A config that fails validation
// never replaces the live one.
func (h *HAProxyTarget) apply(ctx context.Context, m Model) (Outcome, error) {
	slots := AssignSlots(h.slots, m)
	full, err := Render(h.cfg.Template, BuildHAProxyView(m, slots, h.cfg.Settings))
	if err != nil {
		return Outcome{}, err
	}
	skel, err := Render(h.cfg.Template, BuildHAProxyView(m, slots.Skeleton(), h.cfg.Settings))
	if err != nil {
		return Outcome{}, err
	}
	if !h.loaded {
		return h.first(ctx, slots, full, skel)
	}
	if started, err := h.cfg.HAProxy.Start(ctx); err != nil {
		h.noteReload(ActionStart, err)
		return Outcome{}, err
	} else if started {
		h.noteReload(ActionStart, nil)
		// It runs the live file, not the runtime changes the dead one had:
		// force a full render and reload.
		h.cfg.Logger.Warn("haproxy was not running; restarted it with the live config")
		h.lastFull, h.lastSkel = h.fileFull, nil
	}
	if bytes.Equal(full, h.lastFull) {
		if bytes.Equal(full, h.fileFull) {
			return Outcome{Action: ActionNone, Why: "rendered config unchanged"}, nil
		}
		// Runtime changes applied earlier: persist them so a restart or
		// a later reload starts from what is running.
		if err := h.swap(ctx, full); err != nil {
			return Outcome{}, err
		}
		h.fileFull = full
		return Outcome{Action: ActionPersist, Why: "runtime membership changes written to the live file"}, nil
	}
	if out, ok := h.runtime(ctx, slots, full, skel); ok {
		if err := h.swap(ctx, full); err != nil {
			h.cfg.Logger.Error("runtime update applied but the config file could not be written", "err", err)
		} else {
			h.fileFull = full
		}
		return out, nil
	}
	return h.reload(ctx, slots, full, skel)
}

// ApplyMembership applies m at once when, since the last apply, only
// backend membership changed: Runtime API commands, no reload, no file
// write (the next Apply persists it). handled is false when m needs Apply.
// Membership changes skip the debounce because they cost no reload.
func (h *HAProxyTarget) ApplyMembership(ctx context.Context, m Model) (out Outcome, handled bool, err error) {
	if !h.loaded || h.lastSkel == nil {
		return Outcome{}, false, nil
	}
	slots := AssignSlots(h.slots, m)
	full, err := Render(h.cfg.Template, BuildHAProxyView(m, slots, h.cfg.Settings))
	if err != nil {
		return Outcome{}, false, err
	}
	if bytes.Equal(full, h.lastFull) {
		return Outcome{Action: ActionNone, Why: "rendered config unchanged"}, true, nil
	}
	skel, err := Render(h.cfg.Template, BuildHAProxyView(m, slots.Skeleton(), h.cfg.Settings))
	if err != nil {
		return Outcome{}, false, err
	}
	out, handled = h.runtime(ctx, slots, full, skel)
	if handled {
		h.applied = m
	}
	return out, handled, nil
}

// runtime applies a membership-only change through the Runtime API; false
// means it was not membership-only or the API failed (reload instead).
func (h *HAProxyTarget) runtime(ctx context.Context, slots Slots, full, skel []byte) (Outcome, bool) {
	if h.lastSkel == nil || !bytes.Equal(skel, h.lastSkel) {
		return Outcome{}, false
	}
	cmds := RuntimeCommands(h.slots, slots)
	if err := h.cfg.HAProxy.Runtime(ctx, cmds); err != nil {
		h.cfg.Logger.Warn("runtime API update failed; reloading instead", "err", err)
		return Outcome{}, false
	}
	h.slots, h.lastFull, h.live = slots, full, slots
	return Outcome{Action: ActionRuntime, Commands: len(cmds), Why: "only backend membership changed"}, true
}

// first writes the first config and starts HAProxy, or reloads one that
// was already running.
func (h *HAProxyTarget) first(ctx context.Context, slots Slots, full, skel []byte) (Outcome, error) {
	if _, err := os.Stat(h.cfg.Settings.StateFile); errors.Is(err, os.ErrNotExist) {
		os.WriteFile(h.cfg.Settings.StateFile, []byte("1\n"), 0o644) // an empty version-1 state
	}
	if err := h.swap(ctx, full); err != nil {
		return Outcome{}, err
	}
	started, err := h.cfg.HAProxy.Start(ctx)
	if err != nil {
		h.noteReload(ActionStart, err)
		return Outcome{}, err
	}
	if started {
		h.noteReload(ActionStart, nil)
	} else {
		err := h.cfg.HAProxy.Reload(ctx)
		h.noteReload(ActionReload, err)
		if err != nil {
			return Outcome{}, err
		}
	}
	h.slots, h.lastFull, h.lastSkel, h.fileFull, h.loaded, h.live = slots, full, skel, full, true, slots
	if started {
		return Outcome{Action: ActionStart, Why: "haproxy was not running"}, nil
	}
	return Outcome{Action: ActionReload, Why: "first config of this lbsync"}, nil
}

func (h *HAProxyTarget) reload(ctx context.Context, slots Slots, full, skel []byte) (Outcome, error) {
	tmp, err := h.writeTemp(full)
	if err != nil {
		return Outcome{}, err
	}
	defer os.Remove(tmp)
	if err := h.cfg.HAProxy.Validate(ctx, tmp); err != nil {
		return Outcome{}, &ValidationError{Target: "haproxy", Err: err}
	}
	// Bring the servers both configs share to their new state first, so
	// the state file dumped next agrees with the new config.
	if err := h.cfg.HAProxy.Runtime(ctx, RuntimeCommands(h.slots, slots)); err != nil {
		h.cfg.Logger.Warn("runtime update before reload failed; the reload applies it", "err", err)
	}
	if state, err := h.cfg.HAProxy.ServersState(ctx); err != nil {
		h.cfg.Logger.Warn("could not save server state before reload", "err", err)
	} else if err := writeAtomic(h.cfg.Settings.StateFile, state); err != nil {
		h.cfg.Logger.Warn("could not save server state before reload", "err", err)
	}
	if err := h.install(tmp); err != nil {
		return Outcome{}, err
	}
	h.slots = slots
	err = h.cfg.HAProxy.Reload(ctx)
	h.noteReload(ActionReload, err)
	if err != nil {
		// HAProxy keeps the old workers: put the old file back so the
		// live file is what runs, and force a reload next time.
		if rerr := os.Rename(h.cfg.ConfigPath+".bak", h.cfg.ConfigPath); rerr != nil {
			h.cfg.Logger.Error("could not restore the previous config", "err", rerr)
		}
		h.lastSkel, h.lastFull, h.fileFull = nil, nil, nil
		return Outcome{}, fmt.Errorf("haproxy: reload: %w", err)
	}
	h.lastFull, h.lastSkel, h.fileFull, h.live = full, skel, full, slots
	return Outcome{Action: ActionReload, Why: "frontends, routes or backend settings changed"}, nil
}

// swap writes content to a temp file, validates it and installs it.
func (h *HAProxyTarget) swap(ctx context.Context, content []byte) error {
	tmp, err := h.writeTemp(content)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := h.cfg.HAProxy.Validate(ctx, tmp); err != nil {
		return &ValidationError{Target: "haproxy", Err: err}
	}
	return h.install(tmp)
}

func (h *HAProxyTarget) writeTemp(content []byte) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(h.cfg.ConfigPath), ".haproxy-*.cfg")
	if err != nil {
		return "", fmt.Errorf("haproxy: temp config: %w", err)
	}
	_, err = f.Write(content)
	err = errors.Join(err, f.Sync(), f.Close())
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("haproxy: write %s: %w", f.Name(), err)
	}
	return f.Name(), nil
}

// install renames tmp over the live file, keeping the previous one as .bak.
func (h *HAProxyTarget) install(tmp string) error {
	return installFile(tmp, h.cfg.ConfigPath)
}

func installFile(tmp, live string) error {
	bak := live + ".bak"
	os.Remove(bak)
	if err := os.Link(live, bak); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("keep %s: %w", bak, err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, live); err != nil {
		return fmt.Errorf("install %s: %w", live, err)
	}
	return nil
}

func writeAtomic(path string, content []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(content)
	if err = errors.Join(err, f.Close()); err != nil {
		os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), path)
}

// LiveIDs implements LiveBackends: the Consul service IDs of the
// instances in HAProxy's filled slots since its last successful change.
func (h *HAProxyTarget) LiveIDs() map[string]bool {
	ids := map[string]bool{}
	for _, slots := range h.live {
		for _, b := range slots {
			if b.Port != 0 {
				ids[b.ID] = true
			}
		}
	}
	return ids
}

// Name identifies the target in events and metrics.
func (h *HAProxyTarget) Name() string { return "haproxy" }
