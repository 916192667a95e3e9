// Package failover measures how long a cluster of masters takes to serve
// writes again after its leader dies: the harness half of the failover test
// (kill the leader, then probe every surviving master until a write goes
// through). It knows nothing about how masters are started or killed; the
// caller passes that in, so the same helper drives in-process masters and
// real `berth master` processes.
package failover
