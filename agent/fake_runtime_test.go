package agent

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"time"
)

// fakeRuntime is an in-memory Runtime for the core's tests.
type fakeRuntime struct {
	mu      sync.Mutex
	tasks   map[string]*Observed
	listErr error
	// listFailures counts the lists that failed with listErr.
	listFailures int
	launches     int
	stops        []string
	// launchGate, when set, blocks Launch until it is closed.
	launchGate chan struct{}
	// createOnly makes Launch leave a created-but-not-started task and
	// fail, as an interrupted launch would.
	createOnly bool
}

func newFakeRuntime() *fakeRuntime { return &fakeRuntime{tasks: map[string]*Observed{}} }

func (f *fakeRuntime) Launch(ctx context.Context, l Launch) (Observed, error) {
	f.mu.Lock()
	gate := f.launchGate
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return Observed{}, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.launches++
	o := &Observed{TaskID: l.Spec.TaskID, AppID: l.Spec.AppID, Runtime: "process", RuntimeID: "fake-" + l.Spec.TaskID + "-" + strings.Repeat("x", f.launches)}
	f.tasks[o.TaskID] = o
	if f.createOnly {
		return Observed{}, errors.New("interrupted")
	}
	o.Running, o.Started = true, true
	return *o, nil
}

func (f *fakeRuntime) Stop(_ context.Context, o Observed, _ time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stops = append(f.stops, o.TaskID)
	if t := f.tasks[o.TaskID]; t != nil {
		t.Running, t.ExitKnown, t.ExitCode, t.FinishedAt = false, true, 143, time.Now()
	}
	return nil
}

func (f *fakeRuntime) Remove(_ context.Context, o Observed) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.tasks, o.TaskID)
	return nil
}

func (f *fakeRuntime) List(context.Context, string) ([]Observed, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.listErr != nil {
		f.listFailures++
		return nil, f.listErr
	}
	var out []Observed
	for _, o := range f.tasks {
		out = append(out, *o)
	}
	return out, nil
}

func (f *fakeRuntime) Logs(context.Context, Observed, string, int64, bool) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader("")), nil
}

func (f *fakeRuntime) set(fn func(f *fakeRuntime)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeRuntime) get(fn func(f *fakeRuntime)) { f.set(fn) }
