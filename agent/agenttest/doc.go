// Package agenttest is a test double of the master's agent endpoints
// (internal/wire): registration, the long-polled desired set and status
// updates, with knobs to make it forget agents or fail acknowledgements.
package agenttest
