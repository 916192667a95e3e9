package lbsync

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// ServerStates reports HAProxy's own view of every filled server slot,
// keyed by "<backend>/<ip:port>": UP, DOWN, MAINT or DRAIN (from `show
// servers state`). Safe to call beside the Syncer's loop.
func (h *HAProxyTarget) ServerStates(ctx context.Context) (map[string]string, error) {
	out, err := h.cfg.HAProxy.ServersState(ctx)
	if err != nil {
		return nil, err
	}
	return parseServerStates(string(out)), nil
}

// parseServerStates reads `show servers state` (version 1): be_name is
// field 2, srv_addr 5, srv_op_state 6, srv_admin_state 7, srv_port 19.
func parseServerStates(out string) map[string]string {
	states := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 19 || strings.HasPrefix(line, "#") {
			continue
		}
		op, err1 := strconv.Atoi(f[5])
		admin, err2 := strconv.Atoi(f[6])
		if err1 != nil || err2 != nil || f[4] == "127.0.0.1" && f[18] == "1" {
			continue // a free slot
		}
		state := "DOWN"
		switch {
		case admin&0x63 != 0: // forced, inherited, resolver or hostname maintenance
			// (not 0x04, config maintenance: every slot starts as a
			// `disabled` server-template and keeps that flag once filled
			// through the Runtime API)
			state = "MAINT"
		case admin&0x18 != 0:
			state = "DRAIN"
		case op == 2 || op == 3:
			state = "UP"
		}
		states[f[1]+"/"+joinHostPort(f[4], f[18])] = state
	}
	return states
}

func joinHostPort(addr, port string) string {
	if strings.Contains(addr, ":") {
		return "[" + addr + "]:" + port
	}
	return addr + ":" + port
}

// ServerStater is a Target that can say how its load balancer sees each
// server (HAProxyTarget); GET /routes adds it to every backend.
type ServerStater interface {
	ServerStates(ctx context.Context) (map[string]string, error)
}

// withLBStates fills Backend.LB from the targets that can tell, bounded
// by one second; a target that cannot answer leaves it empty.
func (s *Syncer) withLBStates(ctx context.Context, st Status) Status {
	for _, t := range s.cfg.Targets {
		ss, ok := t.(ServerStater)
		if !ok {
			continue
		}
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		states, err := ss.ServerStates(ctx)
		cancel()
		if err != nil {
			continue
		}
		for i := range st.Services {
			svc := &st.Services[i]
			backends := make([]Backend, len(svc.Backends))
			copy(backends, svc.Backends)
			for j := range backends {
				backends[j].LB = states[svc.Name+"/"+backends[j].HostPort()]
			}
			svc.Backends = backends
		}
	}
	return st
}
