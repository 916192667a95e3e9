package lbsync

import (
	"sync"
	"testing"
	"time"
)

// fakeClock moves only when told to.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	ch      chan time.Time
	stopped bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }
func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), ch: make(chan time.Time, 1)}
	c.timers = append(c.timers, t)
	return t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for _, t := range c.timers {
		if !t.stopped && !t.at.After(c.now) {
			t.stopped = true
			t.ch <- c.now
		}
	}
}

func fired(q *quiescence) bool {
	select {
	case <-q.C():
		q.done()
		return true
	default:
		return false
	}
}

func TestQuiescence(t *testing.T) {
	clk := &fakeClock{now: time.Unix(0, 0)}
	q := &quiescence{clock: clk, min: 50 * time.Millisecond, max: time.Second}
	if q.C() != nil {
		t.Fatal("armed before any change")
	}

	// A single change fires after min.
	q.tick()
	clk.Advance(49 * time.Millisecond)
	if fired(q) {
		t.Fatal("fired before min")
	}
	clk.Advance(time.Millisecond)
	if !fired(q) {
		t.Fatal("did not fire at min")
	}

	// A burst every 40ms keeps pushing it back, but max caps the wait.
	start := clk.Now()
	var at time.Duration
	for range 100 {
		q.tick()
		clk.Advance(40 * time.Millisecond)
		if fired(q) {
			at = clk.Now().Sub(start)
			break
		}
	}
	if at != time.Second {
		t.Fatalf("burst fired after %v, want exactly max (1s)", at)
	}

	// After firing, the next change starts a fresh window.
	q.tick()
	clk.Advance(50 * time.Millisecond)
	if !fired(q) {
		t.Fatal("fresh window did not fire at min")
	}
}
