package master

import "testing"

// BenchmarkReadinessScanIdle is the prober's scan under the master's lock
// with 10,000 apps × 10 tasks and no readiness checks (every tick pays it).
func BenchmarkReadinessScanIdle(b *testing.B) {
	m := benchMaster(b)
	bigState(b, m, 10000, 10)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.mu.Lock()
		if p := m.dueProbes(m.now()); len(p) != 0 {
			b.Fatal("probes without checks")
		}
		m.mu.Unlock()
	}
}

// BenchmarkTaskStats is embed=app.taskStats for one app with 1,000 tasks.
func BenchmarkTaskStats(b *testing.B) {
	m := benchMaster(b)
	bigState(b, m, 1, 1000)
	m.mu.Lock()
	defer m.mu.Unlock()
	var as *appState
	for _, a := range m.apps {
		as = a
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if s := m.taskStats(as); s["totalSummary"] == nil {
			b.Fatal("no totalSummary")
		}
	}
}
