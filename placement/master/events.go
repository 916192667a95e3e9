package master

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// event is one Marathon event: its type and JSON payload (which carries
// eventType and timestamp).
type event struct {
	Type string
	Data []byte
}

// bus fans events out to SSE subscribers; a slow subscriber loses events
// (its buffer is full) rather than slowing the master, as in Marathon.
type bus struct {
	mu   sync.Mutex
	subs map[chan event]struct{}
}

func newBus() *bus { return &bus{subs: map[chan event]struct{}{}} }

func (b *bus) subscribe() chan event {
	ch := make(chan event, 256)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch
}

func (b *bus) unsubscribe(ch chan event) {
	b.mu.Lock()
	delete(b.subs, ch)
	b.mu.Unlock()
}

// publish sends payload (a map; eventType and timestamp are added).
func (b *bus) publish(now time.Time, typ string, payload map[string]any) {
	payload["eventType"] = typ
	payload["timestamp"] = ts(now)
	data, err := json.Marshal(payload)
	if err != nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- event{Type: typ, Data: data}:
		default:
		}
	}
}

// handleEvents serves GET /v2/events as server-sent events.
func (m *Master) handleEvents(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeMessage(w, http.StatusInternalServerError, "streaming unsupported")
		return
	}
	filter := map[string]bool{}
	for _, t := range r.URL.Query()["event_type"] {
		filter[t] = true
	}
	release, refusal := m.enterStream()
	if refusal != "" {
		writeMessage(w, http.StatusServiceUnavailable, refusal)
		return
	}
	defer release()
	ch := m.events.subscribe()
	defer m.events.unsubscribe(ch)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache, no-store, must-revalidate")
	w.WriteHeader(http.StatusOK)
	attached, _ := json.Marshal(map[string]any{"remoteAddress": r.RemoteAddr,
		"eventType": "event_stream_attached", "timestamp": ts(m.now())})
	if len(filter) == 0 || filter["event_stream_attached"] {
		fmt.Fprintf(w, "event: event_stream_attached\ndata: %s\n\n", attached)
	}
	flusher.Flush()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-m.stopping:
			return
		case ev := <-ch:
			if len(filter) > 0 && !filter[ev.Type] {
				continue
			}
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Type, ev.Data); err != nil {
				return
			}
			flusher.Flush()
		}
	}
}
