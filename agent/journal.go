package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/berth-platform/berth/internal/wire"
)

// Journal keeps status updates on disk until the master acknowledges them.
// Each update is one file named by its sequence number; the next sequence
// number is kept in a file too, so numbers are never reused across restarts.
type Journal struct {
	dir     string
	mu      sync.Mutex
	nextSeq uint64
	pending map[uint64]wire.TaskStatus
}

const journalSeqFile = "next-seq"

// OpenJournal opens (creating it if needed) the journal in dir and loads
// the updates not yet acknowledged.
func OpenJournal(dir string) (*Journal, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("journal: create %s: %w", dir, err)
	}
	j := &Journal{dir: dir, nextSeq: 1, pending: map[uint64]wire.TaskStatus{}}
	var next uint64
	if err := readJSONFile(filepath.Join(dir, journalSeqFile), &next); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if next > j.nextSeq {
		j.nextSeq = next
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("journal: list %s: %w", dir, err)
	}
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		seq, err := strconv.ParseUint(name, 10, 64)
		if !ok || err != nil {
			continue
		}
		var st wire.TaskStatus
		if err := readJSONFile(filepath.Join(dir, e.Name()), &st); err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
		st.Seq = seq
		j.pending[seq] = st
		if seq >= j.nextSeq {
			j.nextSeq = seq + 1
		}
	}
	return j, nil
}

// Append assigns the next sequence number to st, writes it to disk and
// returns it with its Seq set.
func (j *Journal) Append(st wire.TaskStatus) (wire.TaskStatus, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	st.Seq = j.nextSeq
	if err := writeJSONFile(filepath.Join(j.dir, journalSeqFile), st.Seq+1); err != nil {
		return st, fmt.Errorf("journal: append %s %s: %w", st.TaskID, st.State, err)
	}
	if err := writeJSONFile(j.path(st.Seq), st); err != nil {
		return st, fmt.Errorf("journal: append %s %s: %w", st.TaskID, st.State, err)
	}
	j.nextSeq++
	j.pending[st.Seq] = st
	return st, nil
}

// Pending returns up to max unacknowledged updates, oldest first.
func (j *Journal) Pending(max int) []wire.TaskStatus {
	j.mu.Lock()
	defer j.mu.Unlock()
	seqs := make([]uint64, 0, len(j.pending))
	for s := range j.pending {
		seqs = append(seqs, s)
	}
	sort.Slice(seqs, func(a, b int) bool { return seqs[a] < seqs[b] })
	if max > 0 && len(seqs) > max {
		seqs = seqs[:max]
	}
	out := make([]wire.TaskStatus, len(seqs))
	for i, s := range seqs {
		out[i] = j.pending[s]
	}
	return out
}

// Ack forgets the acknowledged updates. Unknown sequence numbers are
// ignored (an ack may arrive twice).
func (j *Journal) Ack(seqs []uint64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	var errs []error
	for _, s := range seqs {
		if _, ok := j.pending[s]; !ok {
			continue
		}
		if err := os.Remove(j.path(s)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("journal: ack %d: %w", s, err))
			continue
		}
		delete(j.pending, s)
	}
	return errors.Join(errs...)
}

func (j *Journal) path(seq uint64) string {
	return filepath.Join(j.dir, fmt.Sprintf("%020d.json", seq))
}
