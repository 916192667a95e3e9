// Package livetest holds the tests of Marathon behaviours that only show
// with real processes: a real `berth master` and real `berth agent`s (the
// process containerizer, and Docker where a test needs it) on free ports,
// driven through the REST API only, as a Marathon user would. They cover
// killSelection, taskKillGracePeriodSeconds (the agent's SIGTERM→SIGKILL
// gap measured from inside the task), unreachableStrategy (an agent
// killed and brought back), `user`, Docker `args` and `fetch`, and
// acceptedResourceRoles. It has no code of its own outside the tests.
package livetest
