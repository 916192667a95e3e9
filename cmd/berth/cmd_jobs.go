package main

import (
	"os"

	"github.com/berth-platform/berth/jobs"
)

// loadJobQueues reads --job-queues (nil tree when unset).
func loadJobQueues(path string) (*jobs.Tree, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return jobs.ParseQueues(data)
}
