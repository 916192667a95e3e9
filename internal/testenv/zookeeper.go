package testenv

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ZooKeeper is a real standalone ZooKeeper server (Debian's zookeeper
// package) with its own data dir and a generated zoo.cfg.
type ZooKeeper struct {
	Addr string // 127.0.0.1:port
	proc *Process
	t    testing.TB
}

const zkJar = "/usr/share/java/zookeeper.jar"

// zkMinSession is the server's minimum session timeout, low enough for
// failover tests (tickTime × 2).
const zkTickMillis = 250

// StartZooKeeper starts ZooKeeper on a free port and waits until it answers
// `ruok`. It is stopped when the test ends.
func StartZooKeeper(t testing.TB) *ZooKeeper {
	t.Helper()
	java, err := lookBinary("java")
	Need(t, "java (for ZooKeeper)", err)
	_, err = os.Stat(zkJar)
	Need(t, "zookeeper (Debian package, "+zkJar+")", err)
	dir := t.TempDir()
	port := FreePort(t)
	cfg := fmt.Sprintf(`tickTime=%d
initLimit=10
syncLimit=5
dataDir=%s
clientPort=%d
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr,stat,mntr
minSessionTimeout=%d
`, zkTickMillis, filepath.Join(dir, "data"), port, 2*zkTickMillis)
	cfgPath := filepath.Join(dir, "zoo.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	z := &ZooKeeper{Addr: fmt.Sprintf("127.0.0.1:%d", port), t: t}
	z.proc = startProcess(t, "zookeeper", dir, nil, java,
		"-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
		"-Dzookeeper.log.dir="+dir, "-Dzookeeper.root.logger=WARN,CONSOLE",
		"-cp", "/etc/zookeeper/conf:"+zkJar,
		"org.apache.zookeeper.server.quorum.QuorumPeerMain", cfgPath)
	z.waitReady()
	return z
}

// Stop stops the server; its data dir and port stay for Start.
func (z *ZooKeeper) Stop() { z.proc.Stop() }

// Start starts a stopped server again on the same port and data.
func (z *ZooKeeper) Start() {
	z.t.Helper()
	z.proc.Start()
	z.waitReady()
}

// Process exposes the server's process.
func (z *ZooKeeper) Process() *Process { return z.proc }

func (z *ZooKeeper) waitReady() {
	z.t.Helper()
	err := Poll(60*time.Second, func() error {
		if z.proc.Exited() {
			return errors.New("zookeeper exited")
		}
		// ruok answers imok before the server serves sessions; srvr does not.
		return fourLetter(z.Addr, "srvr", "Zookeeper version")
	})
	if err != nil {
		z.t.Fatalf("testenv: zookeeper did not become ready: %v\n%s", err, z.proc.LogTail())
	}
}

func fourLetter(addr, cmd, want string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte(cmd)); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil && line == "" {
		return fmt.Errorf("%s: %w", cmd, err)
	}
	if !strings.HasPrefix(line, want) {
		return fmt.Errorf("%s answered %q", cmd, line)
	}
	return nil
}
