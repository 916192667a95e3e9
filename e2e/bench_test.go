package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"

	"github.com/berth-platform/berth/internal/testenv"
)

// benchApp is a berth/hello app on BRIDGE networking with an automatic
// servicePort, in HTTP mode, with a 1 s health check when checked is set.
func benchApp(id string, instances int, checked bool) []byte {
	hc := ""
	if checked {
		hc = `"healthChecks": [{"protocol": "HTTP", "path": "/health", "portIndex": 0, "gracePeriodSeconds": 10,
			"intervalSeconds": 1, "timeoutSeconds": 1, "maxConsecutiveFailures": 3}],`
	}
	return []byte(fmt.Sprintf(`{"id": %q, "cpus": 0.05, "mem": 32, "instances": %d, %s
		"container": {"type": "DOCKER", "docker": {"image": "berth/hello", "network": "BRIDGE",
			"portMappings": [{"containerPort": 80, "hostPort": 0, "servicePort": 0, "protocol": "tcp"}]}},
		"labels": {"HAPROXY_GROUP": "external", "HAPROXY_0_MODE": "http"}}`, id, instances, hc))
}

// percentile is the nearest-rank p-quantile of sorted durations, in ms.
func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.999999) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return float64(sorted[i]) / float64(time.Millisecond)
}

func reportPercentiles(b *testing.B, name string, d []time.Duration) {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	b.ReportMetric(percentile(d, 0.5), name+"-p50-ms")
	b.ReportMetric(percentile(d, 0.99), name+"-p99-ms")
	b.Logf("%s over %d samples: %v", name, len(d), d)
}

// firstOK polls url every 10 ms until it answers 200 (with want in the
// body, if set) and returns when.
func firstOK(tb testing.TB, client *http.Client, url, want string, timeout time.Duration) time.Time {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := client.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Contains(string(body), want) {
				return time.Now()
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	tb.Fatalf("%s did not serve %q within %s", url, want, timeout)
	return time.Time{}
}

// BenchmarkDeployToRoutable: from POST /v2/apps to the first 200 through
// the new app's servicePort (an HAProxy reload adds its frontend), 20
// deploys per iteration, each app destroyed before the next (not timed).
func BenchmarkDeployToRoutable(b *testing.B) {
	p := startPlatform(b)
	client := &http.Client{Timeout: 2 * time.Second}
	var samples []time.Duration
	b.ResetTimer()
	for n := range b.N {
		for i := range 20 {
			id := fmt.Sprintf("/bench/deploy-%d-%d", n, i)
			t0 := time.Now()
			var created app
			p.mustAPI("POST", "/v2/apps", benchApp(id, 1, true), &created)
			t1 := firstOK(b, client, p.servicePortURL(created.servicePort(), "/"), "task: bench_deploy-", 60*time.Second)
			samples = append(samples, t1.Sub(t0))
			b.StopTimer()
			p.mustAPI("DELETE", "/v2/apps"+id, nil, nil)
			testenv.WaitFor(b, settle, id+" gone", func() error {
				if c := p.containers(id); c > 0 {
					return fmt.Errorf("%d containers", c)
				}
				return nil
			})
			b.StartTimer()
		}
	}
	reportPercentiles(b, "deploy-to-routable", samples)
}

// benchProcessApp is a busybox httpd process app on $PORT0 with an
// automatic servicePort in HTTP mode; with checked, a TCP health check
// every 1 s (routed once Consul's first check passes).
func benchProcessApp(id string, checked bool) []byte {
	hc := ""
	if checked {
		hc = `"healthChecks": [{"protocol": "TCP", "portIndex": 0, "gracePeriodSeconds": 10,
			"intervalSeconds": 1, "timeoutSeconds": 1, "maxConsecutiveFailures": 3}],`
	}
	return []byte(fmt.Sprintf(`{"id": %q, "cpus": 0.05, "mem": 16, "instances": 1, %s
		"cmd": "mkdir -p www && echo \"proc $MESOS_TASK_ID\" > www/index.html && exec busybox httpd -f -p $PORT0 -h www",
		"portDefinitions": [{"port": 0, "protocol": "tcp"}],
		"labels": {"HAPROXY_GROUP": "external", "HAPROXY_0_MODE": "http"}}`, id, hc))
}

// BenchmarkProcessDeployToRoutable: from POST /v2/apps of a process app
// (no container start) to its first 200 through the new servicePort, 20
// deploys per iteration, unchecked and with a TCP check; each app is
// destroyed before the next (not timed).
func BenchmarkProcessDeployToRoutable(b *testing.B) {
	p := startPlatform(b)
	client := &http.Client{Timeout: 2 * time.Second}
	for _, checked := range []bool{false, true} {
		name := "process-deploy-to-routable"
		if checked {
			name = "process-checked-deploy-to-routable"
		}
		var samples []time.Duration
		for n := range b.N {
			for i := range 20 {
				id := fmt.Sprintf("/bench/proc-%v-%d-%d", checked, n, i)
				t0 := time.Now()
				var created app
				p.mustAPI("POST", "/v2/apps", benchProcessApp(id, checked), &created)
				t1 := firstOK(b, client, p.servicePortURL(created.servicePort(), "/"), "proc bench_proc-", 60*time.Second)
				samples = append(samples, t1.Sub(t0))
				b.StopTimer()
				p.mustAPI("DELETE", "/v2/apps"+id, nil, nil)
				testenv.WaitFor(b, settle, id+" gone", func() error {
					if _, err := p.app(id); err == nil {
						return fmt.Errorf("still there")
					}
					return nil
				})
				b.StartTimer()
			}
		}
		reportPercentiles(b, name, samples)
	}
}

// BenchmarkStartToRoute: from Docker's start event of a new instance (the
// app scaled 1→2) to the first response from that instance through
// HAProxy; 20 scale-ups per iteration, each scaled back down (not timed).
func BenchmarkStartToRoute(b *testing.B) {
	p := startPlatform(b)
	cli := testenv.Docker(b)
	client := &http.Client{Timeout: 2 * time.Second}
	id := "/bench/start"
	a := p.deploy(benchApp(id, 1, false), settle)
	url := p.servicePortURL(a.servicePort(), "/")
	firstOK(b, client, url, "task: ", 60*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	msgs, errs := cli.Events(ctx, types.EventsOptions{Filters: filters.NewArgs(
		filters.Arg("type", "container"), filters.Arg("event", "start"), filters.Arg("label", "berth.app-id="+id))})
	var samples []time.Duration
	b.ResetTimer()
	for range b.N {
		for range 20 {
			p.mustAPI("PUT", "/v2/apps"+id, []byte(`{"instances":2}`), nil)
			var ev events.Message
			select {
			case ev = <-msgs:
			case err := <-errs:
				b.Fatalf("docker events: %v", err)
			case <-time.After(60 * time.Second):
				b.Fatal("no start event within 60 s")
			}
			started := time.Unix(0, ev.TimeNano)
			task := ev.Actor.Attributes["berth.task-id"]
			live := firstOK(b, client, url, "task: "+task, 60*time.Second)
			samples = append(samples, live.Sub(started))
			b.StopTimer()
			p.mustAPI("PUT", "/v2/apps"+id, []byte(`{"instances":1}`), nil)
			p.waitSettled(id, 1, settle)
			b.StartTimer()
		}
	}
	reportPercentiles(b, "start-to-route", samples)
}

// load sends GETs to url at rate per second from workers goroutines until
// ctx ends, counting answers and failures (anything but a 200).
type load struct {
	sent, failed atomic.Int64
	mu           sync.Mutex
	firstErrs    []string
}

func runLoad(ctx context.Context, url string, rate, workers int) *load {
	l := &load{}
	tokens := make(chan struct{}, rate)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(tokens)
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				select {
				case tokens <- struct{}{}:
				default: // workers saturated: the achieved rate shows it
				}
			}
		}
	}()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	for range workers {
		go func() {
			for range tokens {
				l.sent.Add(1)
				resp, err := client.Get(url)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %s", resp.Status)
					}
				}
				if err != nil {
					l.failed.Add(1)
					l.mu.Lock()
					if len(l.firstErrs) < 5 {
						l.firstErrs = append(l.firstErrs, err.Error())
					}
					l.mu.Unlock()
				}
			}
		}()
	}
	return l
}

// BenchmarkScaleUnderLoad: scale 1→20→1 while a load generator aims at 700
// requests/s through the servicePort; every request must succeed.
func BenchmarkScaleUnderLoad(b *testing.B) {
	p := startPlatform(b)
	id := "/bench/scale"
	a := p.deploy(benchApp(id, 1, true), settle)
	url := p.servicePortURL(a.servicePort(), "/")
	firstOK(b, p.http, url, "task: ", 60*time.Second)
	const rate = 700
	b.ResetTimer()
	for range b.N {
		ctx, cancel := context.WithCancel(context.Background())
		l := runLoad(ctx, url, rate, 32)
		t0 := time.Now()
		for _, n := range []int{20, 1} {
			p.mustAPI("PUT", "/v2/apps"+id, []byte(fmt.Sprintf(`{"instances":%d}`, n)), nil)
			ts := time.Now()
			p.waitSettled(id, n, 3*time.Minute)
			p.waitRoutesMatch(id)
			b.ReportMetric(time.Since(ts).Seconds(), fmt.Sprintf("scale-to-%d-s", n))
		}
		cancel()
		elapsed := time.Since(t0)
		sent, failed := l.sent.Load(), l.failed.Load()
		b.ReportMetric(float64(sent), "requests")
		b.ReportMetric(float64(sent)/elapsed.Seconds(), "req/s")
		b.ReportMetric(float64(failed), "failed")
		if failed > 0 {
			b.Errorf("%d of %d requests failed during scale 1→20→1, first: %v", failed, sent, l.firstErrs)
		}
	}
}
