package lbsync

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

// routedTimes is the backend of id in st with its times, or an error.
func routedTimes(st Status, id string) (Backend, error) {
	for _, svc := range st.Services {
		for _, b := range svc.Backends {
			if b.ID == id {
				if b.InConsulAt.IsZero() || b.RoutedAt.IsZero() || b.RoutedAt.Before(b.InConsulAt) {
					return b, fmt.Errorf("backend %s: inConsulAt %s, routedAt %s", id, b.InConsulAt, b.RoutedAt)
				}
				return b, nil
			}
		}
	}
	return Backend{}, fmt.Errorf("backend %s not in /routes", id)
}

// TestConsulStatusFollowsConsul (real Consul and HAProxy): GET /routes
// carries Consul's address, the time and index of its last answer and no
// error; with Consul stopped the error is set and lastSnapshot stays; once
// it runs again the error is cleared and lastSnapshot moves on. A routed
// instance has inConsulAt ≤ routedAt; "haproxy" has the version, master
// pid and worker of HAProxy's `show proc` and the last reload without
// error; after Consul's restart (a dev agent
// forgets its services) the same instance registered again gets new times.
func TestConsulStatusFollowsConsul(t *testing.T) {
	if testing.Short() {
		t.Skip("real Consul and HAProxy")
	}
	h := startHarness(t, harnessOpts{})
	sp := testenv.FreePort(t)
	be := newBackend(t, "one")
	id := h.register("/one", sp, be)
	var first Backend
	testenv.WaitFor(t, 15*time.Second, "the instance routed with its times", func() error {
		var err error
		first, err = routedTimes(fetchStatus(t, h.statusAddr), id)
		return err
	})
	h.expectSet(sp, "", "one")
	c := fetchStatus(t, h.statusAddr).Consul
	if c == nil || c.Address != h.consul.HTTPAddr || c.Error != "" || c.LastIndex == 0 || c.LastSnapshot.IsZero() {
		t.Fatalf("consul status while Consul runs: %+v", c)
	}
	before := c.LastSnapshot
	hs := fetchStatus(t, h.statusAddr).HAProxy
	if pid, _ := h.proc.Info(); hs == nil || !strings.HasPrefix(hs.Version, "2.") || hs.MasterPID != pid.MasterPID ||
		hs.MasterPID == 0 || hs.Workers != 1 || hs.LastReload.IsZero() || hs.LastReloadError != "" {
		t.Errorf("haproxy status %+v", hs)
	}

	h.consul.Stop()
	stopped := time.Now()
	testenv.WaitFor(t, 15*time.Second, "the Consul error in /routes", func() error {
		if c := fetchStatus(t, h.statusAddr).Consul; c.Error == "" {
			return errors.New("no error while Consul is stopped")
		}
		return nil
	})
	if c := fetchStatus(t, h.statusAddr).Consul; c.LastSnapshot.After(stopped) {
		t.Errorf("lastSnapshot %s moved while Consul was stopped (at %s)", c.LastSnapshot, stopped)
	} else {
		t.Logf("while stopped: %+v", c)
	}

	h.consul.Start()
	testenv.WaitFor(t, 30*time.Second, "the Consul error cleared", func() error {
		c := fetchStatus(t, h.statusAddr).Consul
		if c.Error != "" || !c.LastSnapshot.After(before) || !c.LastSnapshot.After(stopped) {
			return fmt.Errorf("consul status %+v (stopped at %s)", c, stopped)
		}
		return nil
	})
	id = h.register("/one", sp, be)
	testenv.WaitFor(t, 15*time.Second, "the instance routed again with new times", func() error {
		b, err := routedTimes(fetchStatus(t, h.statusAddr), id)
		if err == nil && !b.InConsulAt.After(first.RoutedAt) {
			return fmt.Errorf("times %s/%s not newer than the first routing (%s)", b.InConsulAt, b.RoutedAt, first.RoutedAt)
		}
		return err
	})
	h.expectSet(sp, "", "one")
}
