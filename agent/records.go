package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/berth-platform/berth/internal/wire"
)

// taskRecord is what the agent remembers about one task across restarts:
// its spec, what it was told to do, and what it last reported.
type taskRecord struct {
	TaskID  string `json:"taskId"`
	AppID   string `json:"appId"`
	Runtime string `json:"runtime"`
	// ClusterID is the cluster the task was launched (or adopted) for.
	ClusterID string         `json:"clusterId,omitempty"`
	Spec      *wire.TaskSpec `json:"spec,omitempty"`
	// State is the agent's own lifecycle state while no runtime
	// observation overrides it (staging, starting, failed launch).
	State    string `json:"state"`
	Message  string `json:"message,omitempty"`
	ExitCode *int   `json:"exitCode,omitempty"`
	// Done: terminal with nothing left to observe; never relaunched.
	Done          bool   `json:"done,omitempty"`
	KillRequested bool   `json:"killRequested,omitempty"`
	ContainerID   string `json:"containerId,omitempty"`
	// Reported is the signature of the last journaled status.
	Reported string `json:"reported,omitempty"`
	// Health is in memory only: checks restart with the agent.
	Health []wire.HealthResult `json:"-"`
}

// recordStore keeps one JSON file per task under dir.
type recordStore struct{ dir string }

func openRecords(dir string) (*recordStore, map[string]*taskRecord, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("task records: create %s: %w", dir, err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("task records: list %s: %w", dir, err)
	}
	recs := map[string]*taskRecord{}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		var r taskRecord
		if err := readJSONFile(filepath.Join(dir, e.Name()), &r); err != nil {
			return nil, nil, fmt.Errorf("task records: %w", err)
		}
		recs[r.TaskID] = &r
	}
	return &recordStore{dir: dir}, recs, nil
}

func (s *recordStore) save(r *taskRecord) error {
	if err := writeJSONFile(s.path(r.TaskID), r); err != nil {
		return fmt.Errorf("task records: save %s: %w", r.TaskID, err)
	}
	return nil
}

func (s *recordStore) delete(taskID string) error {
	if err := os.Remove(s.path(taskID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("task records: delete %s: %w", taskID, err)
	}
	return nil
}

func (s *recordStore) path(taskID string) string {
	return filepath.Join(s.dir, safeFileName(taskID)+".json")
}

// safeFileName keeps a task id usable as a file name (ids are
// [a-z0-9_.-] in practice; anything else is replaced).
func safeFileName(id string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == 0 || r == '\\' {
			return '_'
		}
		return r
	}, id)
}
