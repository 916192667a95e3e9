package ui

import (
	"encoding/json"
	"fmt"
	"testing"
)

// TestClusterMasters: the cluster page's masters come from /v2/info's
// berth object (leader and this master marked), or say why there are none.
func TestClusterMasters(t *testing.T) {
	for _, tc := range []struct{ name, info, want string }{
		{"group", `{"marathon_config":{"hostname":"10.0.0.2"},"http_config":{"http_port":8080},
			"berth":{"masters":[{"url":"http://10.0.0.1:8080","leader":true},{"url":"http://10.0.0.2:8080","leader":false}]}}`,
			`[{http://10.0.0.1:8080 true false} {http://10.0.0.2:8080 false true}] ""`},
		{"error", `{"berth":{"mastersError":"election: no ZooKeeper session"}}`,
			`[] "unknown: election: no ZooKeeper session"`},
		{"older master", `{"standbys":["http://10.0.0.9:8080"]}`, `[] "not listed by this master"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var info infoJSON
			if err := json.Unmarshal([]byte(tc.info), &info); err != nil {
				t.Fatal(err)
			}
			p := ClusterView(info, fixedNow, nil, "", fixedNow)
			if got := fmt.Sprintf("%v %q", p.Masters, p.MastersNote); got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}
