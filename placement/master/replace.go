package master

import (
	"math"
	"time"
)

// ReplaceInput is the state of one app during a rolling replacement.
type ReplaceInput struct {
	Instances             int     // target n
	MinimumHealthCapacity float64 // upgradeStrategy
	MaximumOverCapacity   float64
	Old                   int // live tasks of an outdated generation (not being killed)
	New                   int // live tasks of the current generation
	NewReady              int // of New: running and healthy
}

// ReplaceStep is what to do now.
type ReplaceStep struct {
	MinHealthy  int // ceil(n × minimumHealthCapacity)
	MaxCapacity int // floor(n × (1 + maximumOverCapacity)), +1 when no progress were possible
	KillOld     int
	StartNew    int
}

// Replace is Marathon's rolling replacement (TaskReplaceActor) as a
// level-triggered step: old tasks may be killed as long as old plus ready
// new tasks stay at or above minHealthy (so a new task must be ready
// before an old one goes), and new tasks may start while old plus new stay
// within maxCapacity. When minHealthy equals maxCapacity one extra task is
// allowed, or nothing could ever move.
func Replace(in ReplaceInput) ReplaceStep {
	n := max(in.Instances, 0)
	s := ReplaceStep{
		MinHealthy:  int(math.Ceil(float64(n)*in.MinimumHealthCapacity - 1e-9)),
		MaxCapacity: int(math.Floor(float64(n)*(1+in.MaximumOverCapacity) + 1e-9)),
	}
	if s.MinHealthy == s.MaxCapacity && n > 0 {
		s.MaxCapacity++
	}
	s.KillOld = min(max(in.Old+in.NewReady-s.MinHealthy, 0), in.Old)
	oldLeft := in.Old - s.KillOld
	s.StartNew = max(0, min(n-in.New, s.MaxCapacity-oldLeft-in.New))
	return s
}

// backoff is an app's launch delay after failures.
type backoff struct {
	delay       time.Duration
	until       time.Time
	lastFailure time.Time
	failures    int
}

// fail records one more failure (Marathon's RateLimiter): the first delay
// is backoffSeconds, each next one multiplied by backoffFactor, capped at
// maxLaunchDelaySeconds; a quiet period of delay+max resets it.
func (b *backoff) fail(now time.Time, seconds int, factor float64, maxSeconds int) {
	maxDelay := time.Duration(maxSeconds) * time.Second
	if b.delay == 0 || now.Sub(b.lastFailure) > b.delay+maxDelay {
		b.delay = time.Duration(seconds) * time.Second
		b.failures = 0
	} else {
		b.delay = time.Duration(float64(b.delay) * factor)
	}
	b.delay = min(b.delay, maxDelay)
	b.failures++
	b.lastFailure = now
	b.until = now.Add(b.delay)
}

// BackoffDelay is the k-th consecutive failure's delay (k ≥ 1):
// min(backoffSeconds × backoffFactor^(k-1), maxLaunchDelaySeconds).
func BackoffDelay(k, seconds int, factor float64, maxSeconds int) time.Duration {
	var b backoff
	now := time.Unix(0, 0)
	for i := 0; i < k; i++ {
		b.fail(now, seconds, factor, maxSeconds)
		now = now.Add(time.Millisecond)
	}
	return b.delay
}
