// Package chronos is Berth's Chronos wire codec (2.x /scheduler and 3.x
// /v1/scheduler job JSON): decoding real users' bodies — numbers sent as
// strings, Chronos' container form, constraints as [["rack","EQUALS","a"]],
// environmentVariables as [{name,value}] — validation with errors that
// name the field, and the job JSON with the read-only counters that GET
// returns. It does no I/O; the schedule itself is checked with package
// jobs.
package chronos
