// Package master is `berth master`: the Marathon-compatible /v2 API, the
// agents' internal API (internal/wire), durable state behind store.Store,
// deployments with Marathon's rolling-replacement algorithm, launch
// backoff, health, the event stream, metrics and the Mesos-style
// /master/state view.
//
//	HTTP /v2 ──► Master (one mutex over the in-memory state) ──► writer ──► store.Store
//	                 ▲         │ reconcile pass (Run): deployments, scale, backoff
//	                 │         ▼
//	agents: register, long-poll desired ◄── TaskSpecs; status batches ──► tasks, health
//
// Every placement decision is the pure placement core's (placement.Place,
// placement.SelectKills, placement.ServicePorts); the rolling replacement
// step is the pure function Replace. The reconcile pass is level-triggered:
// from the apps, their tasks and deployments it recomputes what to launch
// and what to kill, so a restarted master resumes every deployment.
//
// Groups (/v2/groups) are derived from the app ids plus stored group
// records (dependencies, empty groups); a group request becomes one
// deployment whose steps DependencyOrder levels from the apps' and their
// groups' dependencies.
//
// With ServerConfig.ZK the master is one of a group sharing a ZooKeeper
// state (placement/election/ha): a Master is built for each term this
// process leads, over a store fenced with the term, and Config.Leadership
// tells /v2/info and /v2/leader who leads; the others forward.
package master
