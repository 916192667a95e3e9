// Package e2e holds the end-to-end tests and benchmarks of Berth: they start
// the real platform (internal/devstack: Consul, the master, three agents,
// the registrator, lbsync with HAProxy, nginx) on free ports and drive it
// through the HTTP API only, asserting what a user sees: placement per
// constraints, reachability through HAProxy's servicePorts and virtual
// hosts, Consul DNS, nginx, and what happens on scale, restart, agent loss
// and destroy. The package has no non-test code besides this comment.
package e2e
