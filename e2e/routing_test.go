package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

// status fetches url with Host host and returns the status code and body.
func (p *platform) status(url, host string) (int, string, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return 0, "", err
	}
	req.Host = host
	resp, err := p.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// TestScaleToZeroAnswers503: an HTTP app scaled to 0 keeps its servicePort
// and vhost, which answer 503 (not "connection refused"); scaled back to
// 1 it answers 200 again, with no lbsync restart.
func TestScaleToZeroAnswers503(t *testing.T) {
	p := startPlatform(t)
	id := "/e2e/zero"
	def := []byte(fmt.Sprintf(`{"id": %q, "cpus": 0.05, "mem": 32, "instances": 1,
		"container": {"type": "DOCKER", "docker": {"image": "berth/hello", "network": "BRIDGE",
			"portMappings": [{"containerPort": 80, "hostPort": 0, "servicePort": 0, "protocol": "tcp"}]}},
		"labels": {"HAPROXY_0_MODE": "http", "HAPROXY_0_VHOST": "zero.berth.test"}}`, id))
	a := p.deploy(def, 60*time.Second)
	sp := p.servicePortURL(a.servicePort(), "/")
	vhost := "http://" + httpAddr(p.stack.Config().HTTPPort) + "/"
	p.waitServes(sp, "", "")
	p.waitServes(vhost, "zero.berth.test", "")

	want := func(url, host string, code int, body string) {
		t.Helper()
		testenv.WaitFor(t, 30*time.Second, fmt.Sprintf("%s (Host %q) answers %d", url, host, code), func() error {
			got, b, err := p.status(url, host)
			if err != nil {
				return err
			}
			if got != code || !strings.Contains(b, body) {
				return fmt.Errorf("%d %q", got, b)
			}
			return nil
		})
	}
	p.mustAPI("PUT", "/v2/apps"+id, []byte(`{"instances":0}`), nil)
	p.waitSettled(id, 0, 60*time.Second)
	want(sp, "", 503, "No server is available")
	want(vhost, "zero.berth.test", 503, "No server is available")

	p.mustAPI("PUT", "/v2/apps"+id, []byte(`{"instances":1}`), nil)
	p.waitSettled(id, 1, 60*time.Second)
	want(sp, "", 200, "")
	want(vhost, "zero.berth.test", 200, "")
}
