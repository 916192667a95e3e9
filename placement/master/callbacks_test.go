package master

import (
	"context"
	"encoding/json"
	"github.com/berth-platform/berth/placement/oracle"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"
)

// receiver is an HTTP callback endpoint that fails its first failFirst
// requests with 503 and records the events it accepted.
type receiver struct {
	mu        sync.Mutex
	failFirst int
	calls     int
	events    []map[string]any
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.calls++
	if rc.calls <= rc.failFirst {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	var ev map[string]any
	if json.Unmarshal(b, &ev) == nil && r.Header.Get("Content-Type") == "application/json" {
		rc.events = append(rc.events, ev)
	}
}

// waitFor polls (bounded) until some accepted event has type typ.
func (rc *receiver) waitFor(t *testing.T, typ string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		rc.mu.Lock()
		for _, ev := range rc.events {
			if ev["eventType"] == typ {
				rc.mu.Unlock()
				return ev
			}
		}
		rc.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %s delivered; got %v", typ, rc.events)
	return nil
}

func TestEventSubscriptions(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Interval = 50 * time.Millisecond })
	done := make(chan error, 1)
	var cancel context.CancelFunc
	start := func() {
		var ctx context.Context
		ctx, cancel = context.WithCancel(context.Background())
		go func() { done <- h.m.Run(ctx) }()
	}
	start()
	defer func() { cancel(); <-done }()

	rc := &receiver{failFirst: 2}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	cb := url.QueryEscape(srv.URL + "/events")

	h.must(400, "POST", "/v2/eventSubscriptions", "")
	h.must(422, "POST", "/v2/eventSubscriptions?callbackUrl=ftp://x", "")
	if info := h.must(200, "GET", "/v2/info", "").json(t); info["event_subscriber"] != nil {
		t.Fatalf("event_subscriber before any subscription: %v", info["event_subscriber"])
	}
	// Run subscribes to the bus when it starts: wait until it did.
	deadline := time.Now().Add(5 * time.Second)
	for {
		h.m.events.mu.Lock()
		n := len(h.m.events.subs)
		h.m.events.mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	sub := h.must(200, "POST", "/v2/eventSubscriptions?callbackUrl="+cb, "").json(t)
	if sub["eventType"] != "subscribe_event" || sub["callbackUrl"] != srv.URL+"/events" || sub["clientIp"] == nil {
		t.Fatalf("subscribe answer = %v", sub)
	}
	list := h.must(200, "GET", "/v2/eventSubscriptions", "").json(t)
	if urls := list["callbackUrls"].([]any); len(urls) != 1 || urls[0] != srv.URL+"/events" {
		t.Fatalf("list = %v", list)
	}
	es := h.must(200, "GET", "/v2/info", "").json(t)["event_subscriber"].(map[string]any)
	if es["type"] != "http_callback" || es["http_endpoints"].([]any)[0] != srv.URL+"/events" {
		t.Fatalf("info event_subscriber = %v", es)
	}
	// The first two deliveries fail (503): the retries still deliver.
	h.must(201, "POST", "/v2/apps", `{"id":"/cb","cmd":"x","cpus":0.1,"mem":16}`)
	post := rc.waitFor(t, "api_post_event")
	if post["appDefinition"].(map[string]any)["id"] != "/cb" || !oracle.MarathonTime.MatchString(post["timestamp"].(string)) {
		t.Fatalf("api_post_event = %v", post)
	}
	rc.waitFor(t, "deployment_info")

	// Subscriptions survive a restart of the master (stored).
	cancel()
	<-done
	h.restart()
	start()
	if urls := h.must(200, "GET", "/v2/eventSubscriptions", "").json(t)["callbackUrls"].([]any); len(urls) != 1 {
		t.Fatalf("after restart: %v", urls)
	}
	un := h.must(200, "DELETE", "/v2/eventSubscriptions?callbackUrl="+cb, "").json(t)
	if un["eventType"] != "unsubscribe_event" {
		t.Fatalf("unsubscribe answer = %v", un)
	}
	if urls := h.must(200, "GET", "/v2/eventSubscriptions", "").json(t)["callbackUrls"].([]any); len(urls) != 0 {
		t.Fatalf("after unsubscribe: %v", urls)
	}
}
