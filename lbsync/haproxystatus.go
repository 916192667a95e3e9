package lbsync

import (
	"time"

	"github.com/berth-platform/berth/lbsync/haproxy"
)

// HAProxyStatus is HAProxy as lbsync last drove it (GET /routes
// "haproxy").
type HAProxyStatus struct {
	// Version, MasterPID, Workers, Reloads and FailedReloads are the
	// master's `show proc` that confirmed lbsync's last successful start
	// or reload (absent before one, or when the HAProxy driver cannot
	// tell).
	Version       string `json:"version,omitempty"`
	MasterPID     int    `json:"masterPid,omitempty"`
	Workers       int    `json:"workers,omitempty"`
	Reloads       int    `json:"reloads,omitempty"` // the master's reload counter
	FailedReloads int    `json:"failedReloads,omitempty"`
	// LastReload is when lbsync's last start or reload of HAProxy
	// returned (LastReloadAction "start" or "reload"), LastReloadError
	// its error ("" when it was confirmed).
	LastReload       time.Time `json:"lastReload,omitzero"`
	LastReloadAction string    `json:"lastReloadAction,omitempty"`
	LastReloadError  string    `json:"lastReloadError"`
}

// HAProxyStatuser is a Target that reports its HAProxy (HAProxyTarget);
// GET /routes carries it.
type HAProxyStatuser interface {
	HAProxyStatus() HAProxyStatus
}

// procInfoer is an HAProxy driver that can tell the master's state
// (haproxy.Process).
type procInfoer interface {
	Info() (haproxy.Info, bool)
}

// noteReload records a start or reload of HAProxy and its result.
func (h *HAProxyTarget) noteReload(action string, err error) {
	h.smu.Lock()
	defer h.smu.Unlock()
	h.reloadAt, h.reloadAction, h.reloadErr = h.cfg.Clock.Now(), action, ""
	if err != nil {
		h.reloadErr = err.Error()
	}
}

// HAProxyStatus implements HAProxyStatuser; safe beside the Syncer's loop.
func (h *HAProxyTarget) HAProxyStatus() HAProxyStatus {
	h.smu.Lock()
	st := HAProxyStatus{LastReload: h.reloadAt, LastReloadAction: h.reloadAction, LastReloadError: h.reloadErr}
	h.smu.Unlock()
	if pi, ok := h.cfg.HAProxy.(procInfoer); ok {
		if info, ok := pi.Info(); ok {
			st.Version, st.MasterPID, st.Workers = info.Version, info.MasterPID, info.Workers
			st.Reloads, st.FailedReloads = info.Reloads, info.Failed
		}
	}
	return st
}
