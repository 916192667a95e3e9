package jobs

import (
	"container/heap"
	"time"
)

// Timeline orders jobs by their next due time, so that a scheduler tick
// costs the number of due jobs (times log n), not the number of jobs.
// The zero value is ready to use; it is not safe for concurrent use.
type Timeline struct {
	h     timeHeap
	byKey map[string]*timeEntry
}

type timeEntry struct {
	name string
	due  time.Time
	idx  int
}

type timeHeap []*timeEntry

func (h timeHeap) Len() int { return len(h) }
func (h timeHeap) Less(i, j int) bool {
	if c := h[i].due.Compare(h[j].due); c != 0 {
		return c < 0
	}
	return h[i].name < h[j].name
}
func (h timeHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}
func (h *timeHeap) Push(x any) {
	e := x.(*timeEntry)
	e.idx = len(*h)
	*h = append(*h, e)
}
func (h *timeHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}

// Set puts name at due, replacing its previous due time.
func (t *Timeline) Set(name string, due time.Time) {
	if t.byKey == nil {
		t.byKey = map[string]*timeEntry{}
	}
	if e, ok := t.byKey[name]; ok {
		e.due = due
		heap.Fix(&t.h, e.idx)
		return
	}
	e := &timeEntry{name: name, due: due}
	t.byKey[name] = e
	heap.Push(&t.h, e)
}

// Remove takes name off the timeline (no-op when absent).
func (t *Timeline) Remove(name string) {
	if e, ok := t.byKey[name]; ok {
		heap.Remove(&t.h, e.idx)
		delete(t.byKey, name)
	}
}

// Len is the number of jobs on the timeline.
func (t *Timeline) Len() int { return t.h.Len() }

// Peek returns the earliest entry.
func (t *Timeline) Peek() (string, time.Time, bool) {
	if t.h.Len() == 0 {
		return "", time.Time{}, false
	}
	return t.h[0].name, t.h[0].due, true
}

// Due returns the due time of name.
func (t *Timeline) Due(name string) (time.Time, bool) {
	e, ok := t.byKey[name]
	if !ok {
		return time.Time{}, false
	}
	return e.due, true
}

// PopDue removes and returns, earliest first, every job due at or before
// now.
func (t *Timeline) PopDue(now time.Time, out []string) []string {
	for t.h.Len() > 0 && !t.h[0].due.After(now) {
		e := heap.Pop(&t.h).(*timeEntry)
		delete(t.byKey, e.name)
		out = append(out, e.name)
	}
	return out
}
