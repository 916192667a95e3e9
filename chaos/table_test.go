package chaos

import (
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		var d []time.Duration
		for _, v := range n {
			d = append(d, time.Duration(v)*time.Millisecond)
		}
		return d
	}
	for _, c := range []struct {
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(3, 1, 2), 50, 2 * time.Millisecond},
		{ms(4, 1, 3, 2), 50, 2 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
	} {
		if got := Percentile(c.in, c.p); got != c.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", c.in, c.p, got, c.want)
		}
	}
}

func TestDiff(t *testing.T) {
	lost, dup := Diff([]string{"a", "b", "c"}, []string{"a", "c", "c", "d"})
	if lost != 1 || dup != 2 {
		t.Errorf("Diff = %d lost, %d dup; want 1, 2", lost, dup)
	}
}

func TestWriteTable(t *testing.T) {
	out := TableString([]Row{{Scenario: "x", Faults: 2, Sent: 10, Failed: 1, TasksLost: 1,
		Recovery: []time.Duration{time.Second, 2 * time.Second}}})
	for _, want := range []string{"scenario", "x ", "1/0", "1.00s", "2.00s"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestProfileFromEnv(t *testing.T) {
	t.Setenv("BERTH_CHAOS", "full")
	if p, err := ProfileFromEnv(); err != nil || p.AgentRestarts != 10 {
		t.Errorf("full: %+v %v", p, err)
	}
	t.Setenv("BERTH_CHAOS", "slow")
	if _, err := ProfileFromEnv(); err == nil {
		t.Error("BERTH_CHAOS=slow accepted")
	}
}
