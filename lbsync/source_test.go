package lbsync

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"

	"github.com/hashicorp/consul/api"
)

// TestBlockingLoopIndexRules: wait on the last index; reset to 0 when it
// goes backwards; never wait on 0 after an answer of 0; read afresh (0)
// after an error, since Consul may have come back without its state.
func TestBlockingLoopIndexRules(t *testing.T) {
	s := NewConsulSource(ConsulSourceConfig{MinInterval: time.Millisecond})
	answers := []struct {
		index uint64
		err   error
	}{{5, nil}, {5, nil}, {3, nil}, {0, nil}, {7, nil}, {0, errors.New("consul down")}, {8, nil}}
	var waited []uint64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.blockingLoop(ctx, "test", func(opts *api.QueryOptions) (uint64, error) {
		waited = append(waited, opts.WaitIndex)
		if len(waited) > len(answers) {
			cancel()
			return 0, context.Canceled
		}
		a := answers[len(waited)-1]
		return a.index, a.err
	})
	want := []uint64{0, 5, 5, 0, 1, 7, 0, 8}
	if !slices.Equal(waited, want) {
		t.Errorf("wait indexes %v, want %v", waited, want)
	}
}

func TestJitterBounds(t *testing.T) {
	for range 100 {
		if d := jitter(100 * time.Millisecond); d < 100*time.Millisecond || d > 150*time.Millisecond {
			t.Fatalf("jitter(100ms) = %s", d)
		}
	}
}

func TestDurShowsUnits(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{{250 * time.Millisecond, "250ms"}, {281234567, "281ms"}, {1500 * time.Millisecond, "1.5s"},
		{30 * time.Second, "30s"}, {0, "0s"}, {1500 * time.Microsecond, "2ms"}, {800 * time.Microsecond, "800µs"}} {
		if got := Dur(tt.d); got != tt.want {
			t.Errorf("Dur(%d) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// TestRetryLogCarriesUnits: the retry delay of a failing Consul query is
// logged with its unit (the issue saw "retry_in=250m").
func TestRetryLogCarriesUnits(t *testing.T) {
	var buf syncBuffer
	cfg := api.DefaultConfig()
	cfg.Address = "127.0.0.1:1" // nothing listens on port 1
	client, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := NewConsulSource(ConsulSourceConfig{Client: client, Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Watch(ctx, make(chan Snapshot)) }()
	defer func() { cancel(); <-done }()
	re := regexp.MustCompile(`retry_in=(\S+)`)
	if err := testenv.Poll(5*time.Second, func() error {
		if !re.MatchString(buf.String()) {
			return errors.New("no retry logged yet")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	v := re.FindStringSubmatch(buf.String())[1]
	if !regexp.MustCompile(`^[0-9.]+(ms|s)$`).MatchString(v) {
		t.Errorf("retry_in=%s has no unit (log: %s)", v, buf.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
