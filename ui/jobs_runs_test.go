package ui

import (
	"encoding/json"
	"testing"
	"time"
)

// TestJobRunsFromBerthStat reads the job service's job/stat history.
func TestJobRunsFromBerthStat(t *testing.T) {
	var stat map[string]any
	_ = json.Unmarshal([]byte(`{"taskStatHistory":[
	 {"due":"2026-12-06T12:00:00.000Z","started":"2026-12-06T12:00:00.100Z","ended":"2026-12-06T12:00:02.000Z","status":"failure","exitStatus":3,"agent":"n1","taskId":"ct-a.1.0.x"},
	 {"due":"2026-12-06T11:00:00.000Z","status":"skipped"}]}`), &stat)
	runs := jobRunsFrom(stat, time.Date(2026, 12, 6, 12, 1, 0, 0, time.UTC))
	if len(runs) != 2 || runs[0].State != "failure (exit 3)" || runs[0].Agent != "n1" || runs[0].Task != "ct-a.1.0.x" ||
		runs[0].Started == "" || runs[1].State != "skipped" {
		t.Errorf("runs %+v", runs)
	}
}
