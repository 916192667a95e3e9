// Package consul implements registrator.Registry against the local Consul
// agent's HTTP API (/v1/agent/service/register, /deregister, /services).
package consul
