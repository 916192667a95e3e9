package master

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"time"

	"github.com/berth-platform/berth/placement/store"
)

// bucketCallbacks holds the HTTP callback subscribers, one key per URL.
const bucketCallbacks = "eventsubscriptions"

// Callback delivery: attempts per event, the first retry delay (doubled
// each time) and the queue per subscriber (a full queue drops events, as
// Marathon drops them for slow consumers).
const (
	callbackAttempts = 4
	callbackQueue    = 1024
)

// callbackRecord is what the store keeps per subscriber.
type callbackRecord struct {
	CallbackURL string `json:"callbackUrl"`
	Since       string `json:"since"`
}

// callbackSet is the set of subscribed callback URLs.
type callbackSet struct {
	mu   sync.Mutex
	urls map[string]bool
}

// list returns the subscribed URLs, sorted; nil-safe (a standby has none).
func (c *callbackSet) list() []string {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.urls))
	for u := range c.urls {
		out = append(out, u)
	}
	sort.Strings(out)
	return out
}

// loadCallbacks reads the subscribers from the store.
func (m *Master) loadCallbacks(ctx context.Context) error {
	m.callbacks = &callbackSet{urls: map[string]bool{}}
	kvs, err := m.cfg.Store.List(ctx, bucketCallbacks, "")
	if err != nil {
		return fmt.Errorf("master: load event subscriptions: %w", err)
	}
	for _, kv := range kvs {
		m.callbacks.urls[kv.Key] = true
	}
	return nil
}

// checkCallbackURL is the validation of ?callbackUrl=: an absolute http(s) URL.
func checkCallbackURL(raw string) *apiError {
	if raw == "" {
		return errMessage(http.StatusBadRequest, "Query parameter 'callbackUrl' is required")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errMessage(http.StatusUnprocessableEntity,
			"callbackUrl '"+raw+"' is not an absolute http:// or https:// URL")
	}
	return nil
}

// handleEventSubscriptions serves /v2/eventSubscriptions: POST and DELETE
// with ?callbackUrl=, GET lists them.
func (m *Master) handleEventSubscriptions(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		writeJSON(w, http.StatusOK, map[string]any{"callbackUrls": m.callbacks.list()})
		return
	}
	if r.Method != http.MethodPost && r.Method != http.MethodDelete {
		w.Header().Set("Allow", "GET, POST, DELETE")
		writeMessage(w, http.StatusMethodNotAllowed, "Method "+r.Method+" not allowed on /v2/eventSubscriptions")
		return
	}
	cb := r.URL.Query().Get("callbackUrl")
	if ae := checkCallbackURL(cb); ae != nil {
		writeErr(w, ae)
		return
	}
	typ := "subscribe_event"
	if r.Method == http.MethodDelete {
		typ = "unsubscribe_event"
	}
	m.mu.Lock()
	now := m.now()
	m.callbacks.mu.Lock()
	var op store.Op
	if typ == "subscribe_event" {
		m.callbacks.urls[cb] = true
		b, _ := json.Marshal(callbackRecord{CallbackURL: cb, Since: ts(now)})
		op = store.Put(bucketCallbacks, cb, b)
	} else {
		delete(m.callbacks.urls, cb)
		op = store.Del(bucketCallbacks, cb)
	}
	m.callbacks.mu.Unlock()
	seq := m.w.enqueue(op)
	m.mu.Unlock()
	if err := m.w.wait(seq); err != nil {
		writeErr(w, err)
		return
	}
	body := map[string]any{"callbackUrl": cb, "clientIp": r.RemoteAddr}
	m.events.publish(now, typ, body)
	writeJSON(w, http.StatusOK, body)
}

// runCallbacks delivers every event on the bus to every subscriber until
// ctx ends; the returned func waits for the deliveries to stop.
func (m *Master) runCallbacks(ctx context.Context, retry time.Duration) (wait func()) {
	ch := m.events.subscribe()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer m.events.unsubscribe(ch)
		client := &http.Client{Timeout: 10 * time.Second}
		workers := map[string]chan []byte{}
		defer func() {
			for _, q := range workers {
				close(q)
			}
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-ch:
				m.syncWorkers(ctx, &wg, workers, client, retry)
				for u, q := range workers {
					select {
					case q <- ev.Data:
					default:
						m.log.Warn("master: event subscriber queue full, event dropped", "callbackUrl", u, "event", ev.Type)
					}
				}
			}
		}
	}()
	return wg.Wait
}

// syncWorkers starts a delivery worker per new subscriber and stops the
// workers of removed ones.
func (m *Master) syncWorkers(ctx context.Context, wg *sync.WaitGroup, workers map[string]chan []byte,
	client *http.Client, retry time.Duration) {
	want := map[string]bool{}
	for _, u := range m.callbacks.list() {
		want[u] = true
		if workers[u] != nil {
			continue
		}
		q := make(chan []byte, callbackQueue)
		workers[u] = q
		wg.Add(1)
		go func() {
			defer wg.Done()
			for data := range q {
				if err := deliver(ctx, client, u, data, retry); err != nil && ctx.Err() == nil {
					m.log.Warn("master: event delivery failed", "callbackUrl", u, "err", err)
				}
			}
		}()
	}
	for u, q := range workers {
		if !want[u] {
			close(q)
			delete(workers, u)
		}
	}
}

// deliver POSTs one event, retrying with doubling delays until a 2xx
// answer or callbackAttempts attempts.
func deliver(ctx context.Context, client *http.Client, u string, data []byte, retry time.Duration) error {
	var last error
	delay := retry
	for attempt := 1; attempt <= callbackAttempts; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(data))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode/100 == 2 {
				return nil
			}
			err = fmt.Errorf("status %d", res.StatusCode)
		}
		last = fmt.Errorf("attempt %d: %w", attempt, err)
		if attempt == callbackAttempts {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay *= 2
	}
	return last
}

// eventSubscriber is /v2/info event_subscriber: null without subscribers.
func (m *Master) eventSubscriber() *eventSubscriber {
	urls := m.callbacks.list()
	if len(urls) == 0 {
		return nil
	}
	return &eventSubscriber{Type: "http_callback", HTTPEndpoints: urls}
}
