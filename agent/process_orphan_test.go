package agent

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// A record read before reap wrote a child's exit must not be settled as an
// orphan's "exit code unknown" once the child is reaped: the exit code reap
// recorded wins.
func TestSettleOrphanKeepsAReapedExit(t *testing.T) {
	p, err := NewProcessRuntime(ProcessConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	dir := p.taskDir("race.1")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "process.json")
	// What reap wrote after the child exited with 7 (pid 0: never alive).
	reaped := processFile{TaskID: "race.1", PID: 0, Exited: true, ExitKnown: true, ExitCode: 7}
	if err := writeJSONFile(path, reaped); err != nil {
		t.Fatal(err)
	}
	stale := reaped
	stale.Exited, stale.ExitKnown, stale.ExitCode = false, false, 0
	got, err := p.settleOrphan(path, stale)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Exited || !got.ExitKnown || got.ExitCode != 7 {
		t.Fatalf("settled %+v, want the reaped exit code 7", got)
	}
	list, err := p.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ExitCode != 7 {
		t.Fatalf("List = %+v, want exit code 7", list)
	}
}

// An orphan that is really gone (not a child, not alive, no exit recorded)
// is settled with an unknown exit code and says why.
func TestSettleOrphanRecordsAGoneProcess(t *testing.T) {
	p, err := NewProcessRuntime(ProcessConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	dir := p.taskDir("gone.1")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "process.json")
	pf := processFile{TaskID: "gone.1", PID: 0}
	if err := writeJSONFile(path, pf); err != nil {
		t.Fatal(err)
	}
	got, err := p.settleOrphan(path, pf)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Exited || got.ExitKnown || got.Message == "" {
		t.Fatalf("settled %+v, want exited with an unknown code and a message", got)
	}
}
