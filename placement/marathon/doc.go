// Package marathon is Berth's model of a Marathon app definition: decoding
// of what Marathon users send (both the Docker-network and the networks
// forms, ports and portDefinitions, explicit nulls), Marathon's defaults,
// validation with Marathon's 400/422 error shapes naming the field path,
// and the partial-update merge used by PUT and PATCH.
//
// It is pure: no I/O, no clock. The master around it assigns versions and
// servicePorts.
package marathon
