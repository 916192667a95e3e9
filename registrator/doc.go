// Package registrator keeps the local Consul agent's services in step with the
// Docker containers running on this host, following gliderlabs/registrator's
// naming rules (image base name, SERVICE_* variables and labels) and adding
// Berth's metadata (berth_* Meta, HAPROXY_* labels, health checks) to the
// containers a Berth agent started.
//
// The core is pure: ServicesFor turns one inspected container into the
// services it should have, and Plan compares the desired services with those
// this registrator owns in Consul. Registrator is the thin shell around them:
// one owner goroutine that re-plans on every Docker event, on a resync, on a
// reconnect of the event stream and on a periodic anti-entropy check.
package registrator
