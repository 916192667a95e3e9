package haproxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// command sends one command line to a UNIX CLI socket (the master CLI or a
// stats socket) and returns everything HAProxy answered before closing.
func command(ctx context.Context, socket, cmd string) (string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return "", fmt.Errorf("haproxy: dial %s: %w", socket, err)
	}
	defer conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	conn.SetDeadline(deadline)
	if _, err := io.WriteString(conn, cmd+"\n"); err != nil {
		return "", fmt.Errorf("haproxy: %s: send %q: %w", socket, cmd, err)
	}
	if uc, ok := conn.(*net.UnixConn); ok {
		uc.CloseWrite()
	}
	out, err := io.ReadAll(conn)
	if err != nil {
		return string(out), fmt.Errorf("haproxy: %s: read answer to %q: %w", socket, cmd, err)
	}
	return string(out), nil
}

// procs is the master's `show proc`: its reload counters and the PIDs of
// the current (not old) workers.
type procs struct {
	MasterPID int
	Version   string
	Reloads   int
	Failed    int
	Workers   []int
}

// parseShowProc reads HAProxy 2.6's `show proc` table:
//
//	#<PID>          <type>          <reloads>       <uptime>        <version>
//	11779           master          2 [failed: 1]   0d00h10m18s     2.6.12
//	# workers
//	7637            worker          1               0d00h00m02s     2.6.12
//	# old workers
//	…
func parseShowProc(out string) (procs, error) {
	var p procs
	section, sawMaster := "", false
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "#") {
			section = strings.TrimSpace(strings.TrimPrefix(line, "#"))
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		switch {
		case f[1] == "master":
			sawMaster = true
			p.MasterPID, _ = strconv.Atoi(f[0])
			p.Version = f[len(f)-1]
			p.Reloads, _ = strconv.Atoi(f[2])
			if i := strings.Index(line, "[failed:"); i >= 0 {
				rest := strings.TrimSpace(line[i+len("[failed:"):])
				p.Failed, _ = strconv.Atoi(strings.TrimRight(strings.Fields(rest)[0], "]"))
			}
		case f[1] == "worker" && section == "workers":
			if pid, err := strconv.Atoi(f[0]); err == nil {
				p.Workers = append(p.Workers, pid)
			}
		}
	}
	if !sawMaster {
		return p, fmt.Errorf("haproxy: unexpected show proc output %q", out)
	}
	return p, nil
}
