// Package placement is Berth's pure placement core: given offers (agents'
// unreserved resources and attributes) and requests (apps wanting new
// instances), it decides which agent and which host ports each instance
// gets, or says why not. It owns:
//
//   - Marathon constraints (UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE,
//     MAX_PER, IS) with Marathon's semantics and validation messages:
//     ParseConstraints, Constraint;
//   - resources (cpus, mem, disk, gpus) and host ports (fixed or any from
//     the agent's ranges), never over-committed or handed out twice;
//   - strategy per request: Spread (fewest tasks of the app, then least
//     loaded; the default) or BinPack (most loaded that fits); ties broken
//     by a seeded source;
//   - fair share between roles (Dominant Resource Fairness with weights and
//     quotas) when many requests compete: PlaceAll;
//   - explanations: every agent that could not take an instance is counted
//     under the first check it failed, so Result.Explanation.String() reads
//     "unplaced 2 of 5: hostname UNIQUE already used on 3 agents; insufficient mem on 40 agents";
//   - the cluster-wide servicePort pool: ServicePorts;
//   - scale-down victim choice: SelectKills.
//
// Everything here is a function of its inputs: no I/O, no clock, no global
// random source. The same offers, requests and Options (Seed or Rand state)
// give the same Result. Offer lifecycle, persistence, the API and
// deployments live in the sub-packages that call this one; this package
// never calls back.
//
// How Place works: one pass over all agents per request evaluates static
// constraints through per-field value indices (a regexp runs once per
// distinct value, not per agent), the set-aware ones through per-value task
// counts, and resources and ports; fitting agents go into a min-heap keyed
// by the strategy's score (one heap per value of the first GROUP_BY field,
// taken from the emptiest group). Each instance pops the best agent,
// re-checks what placing may have changed, commits it and re-heaps the
// agent. PlaceAll interleaves requests of different roles one instance at a
// time; a change log lets each request refresh the agents others touched.
//
// Semantics worth knowing:
//
//   - An agent without the field passes only UNLIKE.
//   - CLUSTER without a value: the first task goes to any agent that has the
//     field, every later one to the value the app's tasks already have.
//   - GROUP_BY follows Marathon 1.4–1.9: a value without tasks is always
//     acceptable, otherwise at least Count values must have tasks and the
//     value must have the fewest; the emptiest value is tried first, so the
//     spread stays within one.
//   - Request.Instances is the number of new instances; Existing tasks are
//     counted by the set-aware constraints and their host ports are treated
//     as taken, but their resources are assumed already out of the offers.
//   - Host ports: fixed ones must be in the agent's ranges and free; any-port
//     needs get the lowest free ports.
package placement
