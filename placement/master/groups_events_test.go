package master

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestGroupEvents: a group change publishes group_change_success with
// the group id, a refused one group_change_failed with the reason.
func TestGroupEvents(t *testing.T) {
	h := newHarness(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", h.srv.URL+"/v2/events?event_type=group_change_success&event_type=group_change_failed", nil)
	req.Header.Set("Accept", "text/event-stream")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, "data: ") {
				data <- l
			}
		}
		close(data)
	}()
	h.must(201, "POST", "/v2/groups", `{"id":"/ev","apps":[{"id":"a","cmd":"a","instances":0}]}`)
	h.must(409, "PUT", "/v2/groups/ev", `{"apps":[{"id":"a","cmd":"b","instances":0}]}`)
	for _, want := range []string{`"eventType":"group_change_success"`, `"eventType":"group_change_failed"`} {
		select {
		case l := <-data:
			if !strings.Contains(l, want) || !strings.Contains(l, `"groupId":"/ev"`) {
				t.Fatalf("event %s, want %s for /ev", l, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s", want)
		}
	}
}
