// Package hatest holds the end-to-end tests of a highly available Berth:
// real ZooKeeper, three real `berth master --zk` processes and a real
// `berth agent --master zk://…` with the process containerizer. The leader
// is killed with SIGKILL in the middle of a rolling restart; the tests
// check that a survivor serves writes, the deployment completes, and no
// app, version, task or servicePort allocation is lost or duplicated. It
// has no code of its own outside the tests.
package hatest
