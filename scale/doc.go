// Package scale measures the real master at scale: the `berth master`
// binary with its embedded store, thousands of simulated agents
// (internal/simagent, the real agent protocol over HTTP with an instant
// fake runtime) and a driver that uses only the public /v2 API.
//
// `make scale` runs the full profile (10,000 agents, 10,000 apps,
// 1,000,000 tasks); `make test` runs the fast one (1,000 agents,
// 1,000 apps, 100,000 tasks). Every figure is the median of three runs and
// is printed as one table; see README.md for the figures and the machine.
package scale
