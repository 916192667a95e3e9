// Package service is the job service's shell around the pure package jobs:
// the jobs, their counters, history, in-flight runs and dependency edges
// in the master's store; the scheduler loop (Run, leader only) that claims
// due occurrences, allocates capacity-queue shares and launches runs
// through a Launcher (the master's placement core and agent protocol),
// folding task results in exactly once; and the Chronos REST API
// (/scheduler/… and /v1/scheduler/…).
package service
