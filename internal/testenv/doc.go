// Package testenv starts the real components Berth's tests run against —
// Consul, ZooKeeper, HAProxy, nginx, the Docker engine and the berth binary —
// on 127.0.0.1 with free ports and their own temp dirs, and stops them when
// the test ends (t.Cleanup).
//
// A component that is missing is reported through Need: under CI=true it
// fails the test with a message naming the missing piece; elsewhere the test
// is skipped with that message. `make setup` installs every component.
package testenv
