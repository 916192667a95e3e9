// Package simagent runs simulated agents: thousands of them in one process,
// each speaking the real master↔agent protocol (internal/wire) over HTTP —
// register, long-poll the desired set, post status batches acked by seq —
// with an instant fake runtime: a desired task is TASK_RUNNING as soon as the
// agent sees it, a task no longer desired is TASK_KILLED at once.
//
// It exists to measure the master (store, API, deployments, agent protocol,
// events) at scale without Docker or processes: `berth agent --simulate N`
// and the scale harness (scale/) use it. What a simulated agent does on each
// answer is decided by the pure Plan; Fleet is the thin shell around it.
package simagent
