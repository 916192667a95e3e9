// Package lbsync keeps HAProxy and nginx in step with the passing instances
// in Consul: `berth lbsync`.
//
// The pipeline (see README.md for the diagram):
//
//	Source (Consul blocking queries: catalog services + health of every
//	instance of each service tagged "berth"; index tracking, backoff,
//	jitter; with --master, WithMaster adds the master's record: app →
//	servicePorts from /v2/apps, cluster id from /v2/info, refreshed on
//	/v2/events)
//	  → debounce (min/max quiescence on an injected Clock)
//	  → BuildModel (pure: typed, sorted routing model; the master's record
//	    decides which app owns a servicePort, the cluster id which
//	    instances count; every instance not routed is listed with its
//	    reason; labels are data, anything that does not parse is rejected
//	    with a Warning, template overrides always)
//	  → for each Target:
//	      HAProxyTarget: AssignSlots → Render → if only membership changed,
//	        Runtime API (set server addr/state) and persist the file; else
//	        temp file → haproxy -c → save server state → rename (keep .bak)
//	        → seamless reload through the master CLI, confirmed by show proc;
//	        a config that fails validation is retried without the
//	        servicePorts that break it (Quarantine)
//	      NginxTarget: Render templates/nginx.conf.tmpl → swap → nginx -t
//	        (restore on failure) → nginx -s reload
//	  → Status snapshot + Notify channel (GET /routes) + Prometheus metrics.
//
// Consul-template templates (--nginx-template) run beside this pipeline in
// a supervised consul-template library runner (TemplateRunner) whose
// renderer performs the same swap → check → reload.
//
// BuildModel, Retain, FillEmptyUpstreams, AssignSlots, RuntimeCommands, Quarantine, WithService,
// BuildHAProxyView, BuildNginxView and Render are pure and carry no I/O; the shells
// (ConsulSource, MasterClient, WithMaster, HAProxyTarget, NginxTarget, TemplateRunner, Syncer) do the
// I/O behind small interfaces (Source, HAProxy, Target, Clock).
package lbsync
