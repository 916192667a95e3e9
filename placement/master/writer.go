package master

import (
	"context"
	"sync"

	"github.com/berth-platform/berth/placement/store"
)

// writer is a group commit in front of the store: operations are queued in
// the order the master changed its memory (under the master's lock), and
// whoever waits first flushes everything queued so far in one atomic Apply
// while later callers queue the next batch. It needs no goroutine.
type writer struct {
	st      store.Store
	flushMu sync.Mutex

	mu             sync.Mutex
	pending        []store.Op
	seq, done      uint64
	errFrom, errTo uint64
	err            error
}

// enqueue queues ops and returns the sequence number to wait for.
func (w *writer) enqueue(ops ...store.Op) uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending = append(w.pending, ops...)
	w.seq++
	return w.seq
}

// last is the sequence number of the latest enqueue: waiting for it
// makes everything queued so far durable.
func (w *writer) last() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seq
}

// wait returns once everything up to seq is durable, or the error of the
// batch that carried it.
func (w *writer) wait(seq uint64) error {
	for {
		if ok, err := w.settled(seq); ok {
			return err
		}
		w.flushMu.Lock()
		if ok, err := w.settled(seq); ok {
			w.flushMu.Unlock()
			return err
		}
		w.mu.Lock()
		ops, from, upto := w.pending, w.done+1, w.seq
		w.pending = nil
		w.mu.Unlock()
		err := error(nil)
		if len(ops) > 0 {
			err = w.st.Apply(context.Background(), ops...)
		}
		w.mu.Lock()
		w.done = upto
		if err != nil {
			w.errFrom, w.errTo, w.err = from, upto, err
		}
		w.mu.Unlock()
		w.flushMu.Unlock()
	}
}

func (w *writer) settled(seq uint64) (bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done < seq {
		return false, nil
	}
	if w.err != nil && seq >= w.errFrom && seq <= w.errTo {
		return true, w.err
	}
	return true, nil
}
