package registrator

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// fakeDocker is an in-memory engine: containers plus a time-stamped event
// log that Watch replays from `since`, like dockerd does.
type fakeDocker struct {
	mu         sync.Mutex
	containers map[string]Container
	log        []Event
	changed    chan struct{} // closed and replaced on every new event
	breakWatch chan struct{} // closed to break the current streams
	watchers   int           // Watch calls so far
	lists      int
	dropEvents bool   // record nothing (simulates a lost event)
	afterList  func() // runs after each List (outside the lock)
	inspectErr error  // returned by Inspect when set
	now        func() time.Time
}

func newFakeDocker() *fakeDocker {
	return &fakeDocker{
		containers: map[string]Container{},
		changed:    make(chan struct{}),
		breakWatch: make(chan struct{}),
		now:        time.Now,
	}
}

func (d *fakeDocker) emitLocked(id, action string) {
	if d.dropEvents {
		return
	}
	d.log = append(d.log, Event{ContainerID: id, Action: action, Time: d.now()})
	close(d.changed)
	d.changed = make(chan struct{})
}

// start adds (or restarts) a running container.
func (d *fakeDocker) start(c Container) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c.Running = true
	d.containers[c.ID] = c
	d.emitLocked(c.ID, "start")
}

func (d *fakeDocker) exit(id string, code int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.containers[id]
	c.Running, c.ExitCode = false, code
	d.containers[id] = c
	d.emitLocked(id, "die")
}

func (d *fakeDocker) remove(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.containers, id)
	d.emitLocked(id, "destroy")
}

func (d *fakeDocker) breakStreams() {
	d.mu.Lock()
	defer d.mu.Unlock()
	close(d.breakWatch)
	d.breakWatch = make(chan struct{})
}

func (d *fakeDocker) Watch(ctx context.Context, since time.Time, handle func(Event)) error {
	d.mu.Lock()
	d.watchers++
	brk := d.breakWatch
	d.mu.Unlock()
	next := 0
	for {
		d.mu.Lock()
		var batch []Event
		for ; next < len(d.log); next++ {
			if !d.log[next].Time.Before(since) {
				batch = append(batch, d.log[next])
			}
		}
		changed := d.changed
		d.mu.Unlock()
		for _, ev := range batch {
			handle(ev)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-brk:
			return errors.New("stream broken")
		case <-changed:
		}
	}
}

func (d *fakeDocker) List(ctx context.Context, all bool) ([]string, error) {
	d.mu.Lock()
	d.lists++
	var ids []string
	for id, c := range d.containers {
		if all || c.Running {
			ids = append(ids, id)
		}
	}
	hook := d.afterList
	d.mu.Unlock()
	sort.Strings(ids)
	if hook != nil {
		hook()
	}
	return ids, nil
}

func (d *fakeDocker) Inspect(ctx context.Context, id string) (Container, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.inspectErr != nil {
		return Container{}, fmt.Errorf("docker: inspect %s: %w", id, d.inspectErr)
	}
	c, ok := d.containers[id]
	if !ok {
		return Container{}, fmt.Errorf("inspect %s: %w", id, ErrNotFound)
	}
	return c, nil
}

// fakeRegistry is an in-memory Consul agent that can be made unreachable.
type fakeRegistry struct {
	mu          sync.Mutex
	services    map[string]Service
	down        bool
	pings       int
	registers   int
	deregisters int
}

func newFakeRegistry() *fakeRegistry { return &fakeRegistry{services: map[string]Service{}} }

var errDown = errors.New("consul: connection refused")

func (f *fakeRegistry) setDown(down bool) {
	f.mu.Lock()
	f.down = down
	f.mu.Unlock()
}

func (f *fakeRegistry) Ping(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pings++
	if f.down {
		return errDown
	}
	return nil
}

func (f *fakeRegistry) Register(ctx context.Context, s Service) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errDown
	}
	f.registers++
	f.services[s.ID] = s
	return nil
}

func (f *fakeRegistry) Deregister(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errDown
	}
	f.deregisters++
	delete(f.services, id)
	return nil
}

func (f *fakeRegistry) Owned(ctx context.Context, owner string) ([]Service, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, errDown
	}
	var out []Service
	for _, s := range f.services {
		if s.Meta[MetaOwner] == owner {
			out = append(out, s)
		}
	}
	return out, nil
}

// ids lists the registered service IDs, sorted.
func (f *fakeRegistry) ids() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for id := range f.services {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func (f *fakeRegistry) put(s Service) {
	f.mu.Lock()
	f.services[s.ID] = s
	f.mu.Unlock()
}

func (f *fakeRegistry) drop(id string) {
	f.mu.Lock()
	delete(f.services, id)
	f.mu.Unlock()
}
