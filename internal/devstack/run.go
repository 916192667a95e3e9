package devstack

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// Run starts the stack, prints where everything is to out, waits for ctx
// to end (Ctrl-C) and stops everything.
func Run(ctx context.Context, cfg Config, out io.Writer) error {
	if cfg.Progress == nil {
		cfg.Progress = out
	}
	fmt.Fprintln(out, "starting Berth dev:")
	s, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	s.PrintSummary(out)
	<-ctx.Done()
	fmt.Fprintln(out, "\nstopping: removing the dev agents' tasks, then every component …")
	stopCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := s.Stop(stopCtx); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	fmt.Fprintln(out, "stopped; no container or process left behind.")
	return nil
}

// PrintSummary prints where everything is.
func (s *Stack) PrintSummary(out io.Writer) {
	c := s.cfg
	_, masterPort, _ := net.SplitHostPort(c.Listen)
	lines := [][2]string{
		{"UI", s.MasterURL + "/ui/"},
		{"API", s.MasterURL + "   (curl " + s.MasterURL + "/v2/apps; berth ps --master " + s.MasterURL + ")"},
		{"Consul UI", "http://" + s.ConsulHTTP + "/ui/"},
		{"HAProxy", fmt.Sprintf(":%d (vhosts), servicePorts 10000-20000; stats http://127.0.0.1:%d/haproxy?stats", c.HTTPPort, c.StatsPort)},
		{"routes", "berth routes --lbsync " + s.LBSyncURL},
	}
	if c.ChronosListen != "" {
		lines = append(lines, [2]string{"Chronos API", "http://" + c.ChronosListen + "/scheduler/jobs   (berth jobs --master " + s.MasterURL + ")"})
	}
	if s.ConsulDNS != "" {
		_, dnsPort, _ := net.SplitHostPort(s.ConsulDNS)
		lines = append(lines, [2]string{"Consul DNS", "dig @127.0.0.1 -p " + dnsPort + " <name>.service.consul (add SRV for ports)"})
	}
	if c.ClassicTemplate != "" {
		lines = append(lines, [2]string{"nginx", fmt.Sprintf(":%d serves Consul service \"nginx\" (examples/apps/nginx-backend.json)", c.ClassicPort)})
	}
	var agents []string
	for i := range c.Agents {
		lo, hi := AgentPorts(i+1, c.Agents)
		a := fmt.Sprintf("%s [%d-%d]", AgentName(i+1), lo, hi)
		if attrs := AgentAttributes(i + 1); attrs != "" {
			a += " " + attrs
		}
		agents = append(agents, a)
	}
	lines = append(lines, [2]string{"agents", strings.Join(agents, ", ")},
		[2]string{"tasks at", s.AdvertiseIP},
		[2]string{"logs", s.LogsDir()})
	fmt.Fprintln(out, "\nBerth dev is up:")
	for _, l := range lines {
		fmt.Fprintf(out, "  %-11s %s\n", l[0], l[1])
	}
	if masterPort != "8080" {
		fmt.Fprintf(out, "  (export BERTH_MASTER=%s for the client verbs)\n", s.MasterURL)
	}
	fmt.Fprintln(out, "\nTry: berth deploy examples/apps/web.json   — Ctrl-C stops everything.")
}
