package lbsync_test

import (
	"fmt"

	"github.com/berth-platform/berth/lbsync"
)

// BuildModel turns passing Consul instances into the routing model; a
// label that is not what it claims to be is rejected with a warning.
func ExampleBuildModel() {
	meta := func(vhost string) map[string]string {
		return map[string]string{
			"berth_app": "/shop/web", "berth_service_port": "10001", "berth_port_index": "0",
			"HAPROXY_0_VHOST": vhost,
		}
	}
	snap := lbsync.Snapshot{Instances: []lbsync.Instance{
		{Service: "web", ID: "n1:web:31001", Address: "10.0.0.1", Port: 31001, Meta: meta("shop.example.com,x.com\n  bind :22")},
		{Service: "web", ID: "n2:web:31002", Address: "10.0.0.2", Port: 31002, Meta: meta("shop.example.com,x.com\n  bind :22")},
	}}
	m, warnings := lbsync.BuildModel(snap, lbsync.Rules{HTTPPort: 80})
	for _, s := range m.Services {
		fmt.Println(s.Name, s.ServicePort, s.Mode, s.VHosts, len(s.Backends), "backends")
	}
	for _, r := range m.Routes {
		fmt.Println("route", r.Host, "->", r.Service)
	}
	for _, w := range warnings {
		fmt.Println("warning:", w)
	}
	// Output:
	// shop_web_10001 10001 http [shop.example.com] 2 backends
	// route shop.example.com -> shop_web_10001
	// warning: servicePort 10001: HAPROXY_0_VHOST host "x.com\n  bind :22" rejected: character '\n' is not allowed in a host name
}
