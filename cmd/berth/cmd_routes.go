package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/berth-platform/berth/lbsync"
)

func routesCommand() command {
	return command{
		name:    "routes",
		summary: "show what lbsync routes: servicePort/vhost → backends, last render, last error",
		run:     runRoutes,
	}
}

func runRoutes(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("routes", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := os.Getenv("BERTH_LBSYNC")
	if def == "" {
		def = "http://127.0.0.1:9091"
	}
	addr := fs.String("lbsync", def, "lbsync status address (env BERTH_LBSYNC)")
	asJSON := fs.Bool("json", false, "print lbsync's JSON")
	creds := fs.String("lbsync-credentials", os.Getenv("BERTH_LBSYNC_CREDENTIALS"), "user:pass for lbsync's status port (its --status-credentials; env BERTH_LBSYNC_CREDENTIALS)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	st, raw, err := fetchRoutes(ctx, *addr, *creds)
	if err != nil {
		fmt.Fprintf(stderr, "berth routes: %v\n", err)
		return 1
	}
	if *asJSON {
		stdout.Write(raw)
		return 0
	}
	printRoutes(stdout, st)
	return 0
}

func fetchRoutes(ctx context.Context, addr, creds string) (lbsync.Status, []byte, error) {
	var st lbsync.Status
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(addr, "/")+"/routes", nil)
	if err != nil {
		return st, nil, err
	}
	if creds != "" {
		user, pass, _ := strings.Cut(creds, ":")
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, nil, fmt.Errorf("get %s: %w", req.URL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return st, nil, fmt.Errorf("get %s: %w", req.URL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return st, nil, fmt.Errorf("get %s: %s", req.URL, resp.Status)
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return st, nil, fmt.Errorf("decode %s: %w", req.URL, err)
	}
	return st, raw, nil
}

func printRoutes(w io.Writer, st lbsync.Status) {
	header := routesHeader(st)
	for _, l := range header {
		fmt.Fprintln(w, l)
	}
	if len(header) > 0 {
		fmt.Fprintln(w)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICEPORT\tAPP\tNAME\tMODE\tVHOSTS\tBACKENDS")
	for _, s := range st.Services {
		hosts := "-"
		if len(s.VHosts) > 0 {
			hosts = strings.Join(s.VHosts, ",")
			if len(s.Paths) > 0 {
				hosts += " " + strings.Join(s.Paths, ",")
			}
		}
		port := fmt.Sprint(s.ServicePort)
		if s.Name == st.Default {
			port += fmt.Sprintf(" (default of :%d)", st.HTTPPort)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", port, s.App, s.Name, s.Mode, hosts, backendSummary(s))
	}
	tw.Flush()
	for _, s := range st.Services {
		if len(s.Backends)+len(s.Excluded) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%d %s\n", s.ServicePort, s.App)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, b := range s.Backends {
			weight := max(b.Weight, 1)
			health := "consul " + b.Health
			if b.LB != "" {
				health += ", haproxy " + b.LB
			}
			fmt.Fprintf(tw, "    %s\t%s\tweight %d\t%s\n", net.JoinHostPort(b.Address, strconv.Itoa(b.Port)), health, weight, b.Task)
		}
		for _, e := range s.Excluded {
			fmt.Fprintf(tw, "    %s\texcluded: %s\t%s\t%s\n", net.JoinHostPort(e.Address, strconv.Itoa(e.Port)), e.Kind, e.Reason, excludedWho(e))
		}
		tw.Flush()
	}
	if len(st.Unrouted) > 0 {
		fmt.Fprintln(w, "\nNOT ROUTED (no service of this lbsync on their servicePort)")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, e := range st.Unrouted {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s (%s)\n", e.ServicePort, e.App, net.JoinHostPort(e.Address, strconv.Itoa(e.Port)), e.Kind, e.Reason, excludedWho(e))
		}
		tw.Flush()
	}
	if len(st.Routes) > 0 {
		fmt.Fprintf(w, "\nHTTP :%d\n", st.HTTPPort)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "HOST\tPATH\tSERVICEPORT")
		for _, r := range st.Routes {
			path := r.Path
			if path == "" {
				path = "/"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\n", r.Host, path, r.ServicePort)
		}
		tw.Flush()
	}
	fmt.Fprintln(w)
	printRoutesFooter(w, st)
}

// routesHeader is who owns the servicePorts, lbsync's Consul source and
// its HAProxy, one line each when known.
func routesHeader(st lbsync.Status) []string {
	var lines []string
	switch {
	case st.Ownership == "master" && st.ClusterID != "":
		lines = append(lines, "servicePort owners: the master's apps; cluster "+st.ClusterID)
	case st.Ownership == "master":
		lines = append(lines, "servicePort owners: the master's apps")
	case st.ClusterID != "":
		lines = append(lines, "servicePort owners: from the instances (no --master); cluster "+st.ClusterID)
	}
	if c := st.Consul; c != nil {
		line := "consul " + c.Address
		if c.Address == "" {
			line = "consul"
		}
		if c.LastSnapshot.IsZero() {
			line += ": no answer yet"
		} else {
			line += fmt.Sprintf(": last answer %s (index %d)", c.LastSnapshot.Format(time.RFC3339), c.LastIndex)
		}
		if c.Error != "" {
			line += " — error: " + c.Error
		}
		lines = append(lines, line)
	}
	if h := st.HAProxy; h != nil {
		line := "haproxy"
		if h.Version != "" {
			line += fmt.Sprintf(" %s: master pid %d, %d worker(s), %d reload(s) (%d failed)", h.Version, h.MasterPID,
				h.Workers, h.Reloads, h.FailedReloads)
		}
		if !h.LastReload.IsZero() {
			line += fmt.Sprintf("; lbsync's last %s %s", h.LastReloadAction, h.LastReload.Format(time.RFC3339))
			if h.LastReloadError != "" {
				line += " — error: " + h.LastReloadError
			}
		}
		lines = append(lines, line)
	}
	return lines
}

// backendSummary is the BACKENDS column of a servicePort.
func backendSummary(s lbsync.Service) string {
	if len(s.Backends) == 0 {
		what := "HTTP answers 503"
		if s.Mode == "tcp" {
			what = "connections are closed"
		}
		out := "no ready instance: " + what
		if len(s.Excluded) > 0 {
			out += fmt.Sprintf(" (%d excluded)", len(s.Excluded))
		}
		return out
	}
	out := fmt.Sprintf("%d routed", len(s.Backends))
	if len(s.Excluded) > 0 {
		out += fmt.Sprintf(", %d excluded", len(s.Excluded))
	}
	return out
}

func excludedWho(e lbsync.Excluded) string {
	if e.Task != "" {
		return "app " + e.App + ", task " + e.Task
	}
	return "app " + e.App + ", " + e.ID
}

func printRoutesFooter(w io.Writer, st lbsync.Status) {
	if st.LastRender.IsZero() {
		fmt.Fprintln(w, "last render: never")
	} else {
		fmt.Fprintf(w, "last render: %s\n", st.LastRender.Format(time.RFC3339))
	}
	for _, e := range st.Events {
		line := fmt.Sprintf("  %s: %s", e.Target, e.Action)
		if e.Err != "" {
			line += " — error: " + e.Err
		}
		fmt.Fprintln(w, line)
	}
	for _, t := range st.Templates {
		line := fmt.Sprintf("  template %s → %s", t.Source, t.Destination)
		if t.LastError != "" {
			line += " — error: " + t.LastError
		}
		fmt.Fprintln(w, line)
	}
	if st.LastError != "" {
		fmt.Fprintf(w, "last error (%s): %s\n", st.LastErrorAt.Format(time.RFC3339), st.LastError)
	}
	for _, warn := range st.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
}
