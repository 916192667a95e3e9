// Package service is the job service's shell around the pure package jobs:
// the jobs, their counters, history and dependency edges in the master's
// store, and the Chronos REST API (/scheduler/… and /v1/scheduler/…).
package service
