package jobs

import (
	"fmt"
	"sort"
	"testing"
	"time"
)

// TestTimelineProperty: random Set/Remove/PopDue against a plain map.
func TestTimelineProperty(t *testing.T) {
	r := newRand(3)
	t0 := time.Unix(1e9, 0)
	tl, model := &Timeline{}, map[string]time.Time{}
	for i := 0; i < 5000; i++ {
		name := fmt.Sprintf("j%d", r.Intn(200))
		switch r.Intn(4) {
		case 0, 1:
			d := t0.Add(time.Duration(r.Intn(1000)) * time.Second)
			tl.Set(name, d)
			model[name] = d
		case 2:
			tl.Remove(name)
			delete(model, name)
		case 3:
			now := t0.Add(time.Duration(r.Intn(1000)) * time.Second)
			got := tl.PopDue(now, nil)
			var want []string
			for n, d := range model {
				if !d.After(now) {
					want = append(want, n)
					delete(model, n)
				}
			}
			sort.Strings(want)
			sorted := append([]string(nil), got...)
			sort.Strings(sorted)
			if fmt.Sprint(sorted) != fmt.Sprint(want) {
				t.Fatalf("PopDue(%s) = %v, want %v", now, got, want)
			}
		}
		if tl.Len() != len(model) {
			t.Fatalf("Len %d, model %d", tl.Len(), len(model))
		}
	}
}
