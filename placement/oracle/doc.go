// Package oracle is the tests' Marathon oracle: JSON Schemas for
// AppDefinition, AppInfo, Task, Group, the /v2/deployments items, the
// /v2/queue answer and the version lists, written for Berth from
// Marathon's REST documentation (schema/*.json, embedded), and an audit
// of the drift strict clients trip over — timestamps not in Marathon's
// format, numbers sent as strings. Both the master's in-process tests
// and the real-process tests (placement/livetest) check every answer
// with it. Only tests import it.
package oracle
