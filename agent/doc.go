// Package agent is Berth's node agent: it registers with the master, long-polls
// the complete set of tasks it should run, and converges the node towards it.
//
// The core is level-triggered. One loop wakes on a capacity-1 trigger (a new
// desired set, a runtime event, a ticker), lists what the runtimes observe,
// computes the pure Diff(desired, observed) and applies the resulting actions.
// Cancelling the agent's context stops the loop but never kills a task:
// killing is an action (drain in Consul, wait, SIGTERM, SIGKILL after the
// grace period). Status updates go through an on-disk journal and are resent
// until the master acknowledges them. A restarted agent adopts the containers
// labelled with its id and the processes recorded in its work dir.
package agent
