// Package jobs is Berth's Chronos-compatible job service: pure decision
// functions and the loop that asks them.
//
//   - Schedule and Period: Chronos' ISO 8601 repeating intervals
//     ("R5/2026-01-01T02:30:00Z/P1D") with time zones; Next(after) is the
//     first occurrence later than after, Step consumes the occurrences that
//     are due at a given instant (running the latest one, skipping those
//     missed by more than epsilon).
//   - Deps: the dependency rule — a child is ready when every parent has
//     succeeded since the child last started, never after a failed parent.
//   - Queues and Allocate: a capacity-scheduler queue tree (guaranteed share
//     of the parent, elastic maximum, FIFO or priority inside a leaf, idle
//     capacity lent and returned, preemption only where allowed).
//
// None of these read a clock, a store or global randomness: the caller
// passes the time and the state in, and gets the decision back.
package jobs
