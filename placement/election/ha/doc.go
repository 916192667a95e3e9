// Package ha runs one master of a highly available group: it opens the
// ZooKeeper store, campaigns in the election, builds the master's leader
// side (Config.NewLeader) on a store fenced with the term's znode each time
// this master is elected, runs it for exactly as long as the term lasts, and
// serves HTTP through the forwarding middleware, so that any master answers
// any request.
//
//	request ─► forward ─┬─ leader (elected and loaded) ─► the term's Leader.Handler
//	                    ├─ local path on a standby      ─► Config.Standby
//	                    └─ otherwise                    ─► proxied to the leader
//
// The master itself knows nothing of ZooKeeper: it sees a store.Store and a
// Leadership (this Node) for /v2/leader, /v2/info and DELETE /v2/leader.
package ha
