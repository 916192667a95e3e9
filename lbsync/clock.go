package lbsync

import "time"

// Clock is the time source of the debounce, injected so tests can use a
// fake one.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is a stoppable one-shot timer.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// NewTimer returns a time.Timer.
func (RealClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }

// quiescence debounces changes: after a change it fires once Min passed
// without another change, or Max after the first change at the latest, so
// a burst costs one apply and a steady trickle cannot postpone it forever.
type quiescence struct {
	clock    Clock
	min, max time.Duration
	timer    Timer
	deadline time.Time
}

// tick records a change.
func (q *quiescence) tick() {
	now := q.clock.Now()
	if q.timer == nil {
		q.deadline = now.Add(q.max)
	} else {
		q.timer.Stop()
	}
	d := q.min
	if rest := q.deadline.Sub(now); rest < d {
		d = max(rest, 0)
	}
	q.timer = q.clock.NewTimer(d)
}

// C fires when the changes have settled; nil while nothing is pending.
func (q *quiescence) C() <-chan time.Time {
	if q.timer == nil {
		return nil
	}
	return q.timer.C()
}

// done disarms after C fired.
func (q *quiescence) done() {
	if q.timer != nil {
		q.timer.Stop()
	}
	q.timer = nil
}
