package main

import (
	"reflect"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/apiclient"
)

func TestCliJobRows(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	rows := cliJobRows([]apiclient.Job{
		{Name: "a", Schedule: "R/2026-12-06T12:01:00.000Z/PT1H", NextDue: "2026-12-06T12:01:00.000Z", SuccessCount: 2,
			LastSuccess: "2026-12-06T11:01:05.000Z", State: "idle", Queue: "default"},
		{Name: "b", Parents: []string{"a"}, ErrorCount: 1, LastSuccess: "2026-12-06T10:00:00.000Z",
			LastError: "2026-12-06T11:00:00.000Z", State: "queued", Queue: "q11"},
		{Name: "c", Schedule: "R/2026-12-07T00:00:00.000Z/P1D", Disabled: true, Queue: "default"},
	}, now)
	want := [][]string{
		{"a", "R/2026-12-06T12:01:00.000Z/PT1H", "2026-12-06T12:01:00.000Z (in 1m)", "success 2026-12-06T11:01:05.000Z", "2", "0", "idle", "default"},
		{"b", "after a", "-", "failure 2026-12-06T11:00:00.000Z", "0", "1", "queued", "q11"},
		{"c", "R/2026-12-07T00:00:00.000Z/P1D", "disabled", "-", "0", "0", "idle", "default"},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("rows:\n%q\nwant\n%q", rows, want)
	}
}
