package master

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of the limits a client cannot push the master past.
const (
	// DefaultMaxEventStreams bounds the concurrent GET /v2/events streams.
	DefaultMaxEventStreams = 256
	// DefaultReadHeaderTimeout is how long a client may take to send a
	// request's headers.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultIdleTimeout closes a keep-alive connection idle this long.
	DefaultIdleTimeout = 2 * time.Minute
)

// newHTTPServer is every http.Server the master starts: a client that
// sends its headers slowly, or keeps an idle connection, is cut off.
// (No ReadTimeout or WriteTimeout: event streams and the agents' long
// polls last minutes.)
func newHTTPServer(h http.Handler, cfg ServerConfig) *http.Server {
	rh, idle := cfg.ReadHeaderTimeout, cfg.IdleTimeout
	if rh <= 0 {
		rh = DefaultReadHeaderTimeout
	}
	if idle <= 0 {
		idle = DefaultIdleTimeout
	}
	return &http.Server{Handler: h, ReadHeaderTimeout: rh, IdleTimeout: idle}
}

// enterStream admits one more event stream, or says why not; release
// must be called when the admitted stream ends.
func (m *Master) enterStream() (release func(), refusal string) {
	limit := m.cfg.MaxEventStreams
	m.streamsMu.Lock()
	defer m.streamsMu.Unlock()
	if m.streams >= limit {
		return nil, fmt.Sprintf("Too many event stream subscribers: %d of at most %d (berth master --max-event-streams); retry later", m.streams, limit)
	}
	m.streams++
	return func() {
		m.streamsMu.Lock()
		m.streams--
		m.streamsMu.Unlock()
	}, ""
}

// tokenBucket admits rate events per second with bursts of burst, on an
// injected clock.
type tokenBucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

func newTokenBucket(rate float64, now func() time.Time) *tokenBucket {
	burst := math.Max(1, math.Ceil(rate))
	return &tokenBucket{rate: rate, burst: burst, tokens: burst, last: now(), now: now}
}

// take spends a token, or returns how long until one is there.
func (b *tokenBucket) take() (bool, time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = math.Min(b.burst, b.tokens+dt*b.rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}

// isWrite reports whether r changes state through the API (/v2 or the
// Chronos API).
func isWrite(r *http.Request) bool {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return false
	}
	p := r.URL.Path
	return strings.HasPrefix(p, "/v2/") || strings.HasPrefix(p, "/scheduler/") || strings.HasPrefix(p, "/v1/scheduler/")
}

// writeLimit answers writes beyond Config.WriteRate with 429, a
// Retry-After and a message naming the limit; WriteRate 0: no limit.
func (m *Master) writeLimit(next http.Handler) http.Handler {
	if m.cfg.WriteRate <= 0 {
		return next
	}
	tb := newTokenBucket(m.cfg.WriteRate, m.cfg.Now)
	rate := strconv.FormatFloat(m.cfg.WriteRate, 'f', -1, 64)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isWrite(r) {
			next.ServeHTTP(w, r)
			return
		}
		ok, wait := tb.take()
		if ok {
			next.ServeHTTP(w, r)
			return
		}
		secs := int(math.Ceil(wait.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeMessage(w, http.StatusTooManyRequests, fmt.Sprintf(
			"Write rate limit exceeded: at most %s writes/s on /v2 and /scheduler (berth master --write-rate); retry after %d s", rate, secs))
	})
}

// ParseWriteRate reads --write-rate: "N" or "N/s" writes per second, 0
// or "" for no limit.
func ParseWriteRate(s string) (float64, error) {
	s = strings.TrimSuffix(strings.TrimSpace(s), "/s")
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("--write-rate %q: want N or N/s, N >= 0 writes per second (0 = no limit)", s)
	}
	return v, nil
}
