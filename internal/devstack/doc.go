// Package devstack runs the whole Berth platform on one machine as child
// processes: a Consul dev agent (or an existing Consul), nginx, `berth
// master`, N `berth agent`s with a classic three-agent topology, the
// registrator and lbsync (which runs HAProxy). It is what `berth dev` runs
// and what the end-to-end tests start.
//
// Start checks every port first and fails naming the one that is taken,
// starts the components in dependency order and waits until each is ready,
// reporting one progress line per component. Stop leaves nothing behind:
// tasks outlive their agent by design, so Stop removes the dev agents'
// containers (label berth.agent-id) and kills their process tasks (from the
// agents' process.json records) before stopping the children, and finally
// sweeps for any process still running from the work directory.
package devstack
