package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

// testBlueGreenByHand does what marathon-lb's zdd.py does, over the
// master's API, while requests flow through the group's port: blue serves
// on its servicePort P; green is deployed with HAPROXY_0_PORT=P (its own
// servicePort is the alt port) in the same HAPROXY_DEPLOYMENT_GROUP, so
// lbsync puts both colours behind P; blue is then scaled to 0 and
// destroyed. No request fails and green ends up serving alone. (The
// master does not drive these steps itself yet.)
func testBlueGreenByHand(t *testing.T, p *platform) {
	check := `"healthChecks": [{"protocol": "HTTP", "path": "/health", "portIndex": 0, "gracePeriodSeconds": 10,
		"intervalSeconds": 1, "timeoutSeconds": 1, "maxConsecutiveFailures": 3}]`
	colour := func(name, labels string) []byte {
		return []byte(fmt.Sprintf(`{"id": "/e2e/shop-%s", "cpus": 0.05, "mem": 32, "instances": 2, %s,
			"container": {"type": "DOCKER", "docker": {"image": "berth/hello", "network": "BRIDGE",
				"portMappings": [{"containerPort": 80, "hostPort": 0, "servicePort": 0, "protocol": "tcp"}]}},
			"labels": {"HAPROXY_0_MODE": "http", "HAPROXY_DEPLOYMENT_GROUP": "shop", "HAPROXY_DEPLOYMENT_COLOUR": %q %s}}`,
			name, check, name, labels))
	}
	blue := p.deploy(colour("blue", ""), settle)
	port := blue.servicePort()
	url := p.servicePortURL(port, "/")
	p.waitServes(url, "", "task: e2e_shop-blue.")

	ctx, cancel := context.WithCancel(context.Background())
	l := runLoad(ctx, url, 100, 8)
	green := p.deploy(colour("green", fmt.Sprintf(`, "HAPROXY_0_PORT": "%d", "HAPROXY_DEPLOYMENT_ALT_PORT": "%d"`, port, port)), settle)
	testenv.WaitFor(t, 30*time.Second, "both colours behind the group's port", func() error {
		seen := map[bool]bool{}
		for range 20 {
			body, err := p.get(url, "")
			if err != nil {
				return err
			}
			seen[strings.Contains(body, "e2e_shop-green.")] = true
		}
		if !seen[true] || !seen[false] {
			var st struct {
				Warnings []string `json:"warnings"`
			}
			p.getJSON(p.stack.LBSyncURL+"/routes", &st)
			return fmt.Errorf("green answered: %v; lbsync warnings %v", seen[true], st.Warnings)
		}
		return nil
	})
	p.mustAPI("PUT", "/v2/apps/e2e/shop-blue", []byte(`{"instances":0}`), nil)
	p.waitSettled("/e2e/shop-blue", 0, settle)
	p.mustAPI("DELETE", "/v2/apps/e2e/shop-blue", nil, nil)
	testenv.WaitFor(t, 30*time.Second, "green alone behind the group's port", func() error {
		for range 10 {
			body, err := p.get(url, "")
			if err != nil {
				return err
			}
			if !strings.Contains(body, "e2e_shop-green.") {
				return fmt.Errorf("answered by %q", body)
			}
		}
		return nil
	})
	cancel()
	sent, failed := l.sent.Load(), l.failed.Load()
	t.Logf("blue → green by hand on port %d (green's own servicePort %d): %d requests, %d failed", port, green.servicePort(), sent, failed)
	if failed > 0 {
		t.Errorf("%d of %d requests through the group's port failed during the switch: %v", failed, sent, l.firstErrs)
	}
	p.mustAPI("DELETE", "/v2/apps/e2e/shop-green", nil, nil)
}
