package lbsync

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// TestBlockingLoopIndexRules: wait on the last index; reset to 0 when it
// goes backwards; never wait on 0 after an answer of 0; keep the index
// across errors.
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
	want := []uint64{0, 5, 5, 0, 1, 7, 7, 8}
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
