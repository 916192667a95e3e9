// Package haproxy drives one HAProxy 2.6 in master-worker mode: it checks
// configuration files (haproxy -c), starts HAProxy when none is running
// (haproxy -W -S <master socket> -f <config>), reloads it seamlessly through
// the master CLI and confirms the reload with `show proc` (HAProxy 2.6's
// reload command returns no status), and talks to the Runtime API on the
// admin stats socket (set server …, show servers state).
//
// It knows nothing about Consul or the routing model; lbsync decides what
// to render and when, this package only executes.
package haproxy
