package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/devstack"
	"github.com/berth-platform/berth/internal/testenv"
)

// TestTwoMastersOnZooKeeper runs the path with two masters sharing
// ZooKeeper and the agents following the leader through zk://: an app
// deployed, the leader killed, the other master takes over, and the app is
// scaled and routed through it.
func TestTwoMastersOnZooKeeper(t *testing.T) {
	zk := testenv.StartZooKeeper(t)
	second := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	p := startPlatform(t, func(c *devstack.Config) {
		c.ZK = "zk://" + zk.Addr + "/berth-e2e"
		c.MoreMasters = []string{second}
	})
	id := "/ha/web"
	a := p.deploy(benchApp(id, 2, true), settle)
	p.waitRoutesMatch(id)
	url := p.servicePortURL(a.servicePort(), "/")
	p.waitServes(url, "", "task: ha_web.")

	leader := p.leader()
	addrs := p.stack.MasterAddrs()
	killed := -1
	for i, addr := range addrs {
		if addr == leader {
			killed = i
		}
	}
	if killed < 0 {
		t.Fatalf("leader %q is none of the masters %v", leader, addrs)
	}
	survivor := addrs[1-killed]
	p.stack.KillMaster(killed)
	p.masterURL = "http://" + survivor
	testenv.WaitFor(t, 60*time.Second, "the other master leading", func() error {
		if l := p.leader(); l != survivor {
			return fmt.Errorf("leader %q", l)
		}
		return nil
	})
	// The tasks kept running and serving through the failover.
	p.waitServes(url, "", "task: ha_web.")
	p.mustAPI("PUT", "/v2/apps"+id, []byte(`{"instances":3}`), nil)
	a = p.waitSettled(id, 3, settle)
	p.waitRoutesMatch(id)
	for _, tk := range a.Tasks {
		if !strings.HasPrefix(tk.ID, "ha_web.") {
			t.Errorf("task %s", tk.ID)
		}
	}
}

// leader is GET /v2/leader's answer ("" when there is none or on error).
func (p *platform) leader() string {
	var out struct {
		Leader string `json:"leader"`
	}
	if err := p.api("GET", "/v2/leader", nil, &out); err != nil {
		return ""
	}
	return out.Leader
}
