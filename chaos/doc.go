// Package chaos is the fault harness behind `make chaos` (issue 17): a
// real platform (internal/devstack) on this machine under constant load
// through its servicePorts, faults injected while the load runs, and one
// table of what each scenario cost — requests sent and failed, apps, tasks
// and servicePorts lost or duplicated, recovery time p50/p99. Each
// scenario asserts its invariants and fails otherwise.
//
// The load generator, the profiles and the table are plain code here; the
// cluster and the scenarios live in the tests. BERTH_CHAOS=fast (the
// default) or full picks the profile.
package chaos
