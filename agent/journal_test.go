package agent

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/berth-platform/berth/internal/wire"
)

func TestJournalSurvivesReopenAndNeverReusesSeq(t *testing.T) {
	dir := t.TempDir()
	j, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, st := range []string{wire.TaskStaging, wire.TaskRunning, wire.TaskKilled} {
		got, err := j.Append(wire.TaskStatus{TaskID: "a.1", State: st})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, got.Seq)
	}
	if seqs[0] != 1 || seqs[2] != 3 {
		t.Fatalf("seqs = %v", seqs)
	}
	if err := j.Ack([]uint64{1, 99}); err != nil {
		t.Fatal(err)
	}

	j2, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	p := j2.Pending(0)
	if len(p) != 2 || p[0].Seq != 2 || p[0].State != wire.TaskRunning || p[1].Seq != 3 {
		t.Fatalf("pending after reopen = %+v", p)
	}
	if got := j2.Pending(1); len(got) != 1 || got[0].Seq != 2 {
		t.Fatalf("Pending(1) = %+v", got)
	}
	if err := j2.Ack([]uint64{2, 3}); err != nil {
		t.Fatal(err)
	}
	j3, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(j3.Pending(0)) != 0 {
		t.Fatalf("acked updates came back: %+v", j3.Pending(0))
	}
	next, err := j3.Append(wire.TaskStatus{TaskID: "b"})
	if err != nil || next.Seq != 4 {
		t.Fatalf("seq after everything acked = %d (%v), want 4", next.Seq, err)
	}
}

func TestJournalRejectsCorruptEntry(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "00000000000000000007.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenJournal(dir); err == nil {
		t.Fatal("corrupt journal entry accepted silently")
	}
}
