package hatest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

type infoView struct {
	Elected bool   `json:"elected"`
	Leader  string `json:"leader"`
	ZK      struct {
		ZK string `json:"zk"`
	} `json:"zookeeper_config"`
}

// TestLeaderInfoAndAbdicate: every master tells the truth in /v2/info and
// /v2/leader, and DELETE /v2/leader sent to a standby makes the leader
// abdicate, after which another master leads and serves writes.
func TestLeaderInfoAndAbdicate(t *testing.T) {
	c := newCluster(t, 2, 2*time.Second)
	leader := c.leader()
	standby := c.without(leader)[0]
	for _, m := range c.masters {
		var info infoView
		getJSON(t, m.url+"/v2/info", &info)
		if info.Elected != (m == leader) || "http://"+info.Leader != leader.url || info.ZK.ZK != c.zkURL {
			t.Fatalf("%s /v2/info = %+v (leader %s, zk %s)", m.url, info, leader.url, c.zkURL)
		}
	}
	_, b, err := call(http.MethodDelete, standby.url+"/v2/leader", "", 200)
	if err != nil {
		t.Fatal(err)
	}
	var msg struct{ Message string }
	if json.Unmarshal(b, &msg); msg.Message != "Leadership abdicated" {
		t.Fatalf("DELETE /v2/leader: %s", b)
	}
	testenv.WaitFor(t, 30*time.Second, "the other master leads", func() error {
		var info infoView
		_, b, err := call(http.MethodGet, standby.url+"/v2/info", "", 200)
		if err == nil {
			err = json.Unmarshal(b, &info)
		}
		if err == nil && !info.Elected {
			err = fmt.Errorf("not elected yet: %+v", info)
		}
		return err
	})
	if got := c.leader(); got != standby {
		t.Fatalf("leader after abdication: %s, want %s", got.url, standby.url)
	}
	if _, _, err := call(http.MethodPost, leader.url+"/v2/apps", `{"id":"/after","cmd":"true","instances":0}`, 201); err != nil {
		t.Fatalf("a write through the old leader (now a standby): %v", err)
	}
}
