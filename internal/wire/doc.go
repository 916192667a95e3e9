// Package wire holds the JSON types exchanged between the master and its agents.
//
// The protocol is level-triggered and pull-based: an agent registers, then
// long-polls the master for the complete set of tasks it should run (its
// desired state), and pushes status updates that the master acknowledges by
// sequence number. Missing an order is impossible because every answer is the
// whole desired set, and no update is lost because the agent keeps unacked
// updates on disk and resends them until acknowledged.
//
// Master endpoints (all under /internal/v1, JSON, Authorization: Bearer
// <agent-secret> when the master was started with --agent-secret):
//
//	POST /internal/v1/agents                   Registration        -> Registered
//	GET  /internal/v1/agents/{id}/desired?index=N&wait=30s          -> Desired (long poll; also a heartbeat)
//	POST /internal/v1/agents/{id}/status       StatusBatch         -> Ack
//
// Agent endpoints (its --listen address, read-only except kill):
//
//	GET  /v1/state                                                  -> AgentState
//	GET  /v1/tasks/{taskId}/logs?stream=stdout|stderr&offset=N&follow=true  (raw bytes; X-Berth-Offset header = next offset)
//
// Types here are data only: no behaviour, no I/O.
package wire
