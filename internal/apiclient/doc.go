// Package apiclient is a small typed client for the master's
// Marathon-compatible /v2 HTTP API, the one the berth client verbs use:
// apps, one app, tasks, deployments, the launch queue, the leader, scale,
// restart, destroy and task logs.
//
//	berth <verb> ──► Client (context-first methods) ──► HTTP /v2 on the master
//	                    │
//	                    └─ non-2xx answers become *Error: status, Marathon's
//	                       message, and its details (path + errors)
//
// Every decoded object keeps the exact JSON it was read from (its Raw
// field), so `--json` can print the API's answer unchanged.
package apiclient
