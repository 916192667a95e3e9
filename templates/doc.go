// Package templates holds the configuration templates Berth ships: the
// HAProxy configuration and the nginx server blocks that lbsync renders from
// its typed routing model. The templates only lay out data computed in Go
// (see lbsync.HAProxyView and lbsync.NginxView); they make no lookups and do
// no I/O. Each has a golden-file test in lbsync.
package templates
