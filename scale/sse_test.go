package scale

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

// sseFanout opens 100 /v2/events subscribers, posts three probe apps and
// measures, per subscriber and probe, the time from the POST to the
// subscriber reading the probe's api_post_event: p50 and max in ms.
func sseFanout(t *testing.T, ctx context.Context, d *Driver) (p50, maxMs float64) {
	const subs, probes = 100, 3
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	seen := map[string][]time.Time{} // probe id → arrival per subscriber
	var ready sync.WaitGroup
	var wg sync.WaitGroup
	client := &http.Client{Transport: d.Client.Transport}
	for i := 0; i < subs; i++ {
		ready.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			subscribe(ctx, client, d.Base, &ready, func(line string) {
				if !strings.HasPrefix(line, "data:") || !strings.Contains(line, "api_post_event") {
					return
				}
				for p := 1; p <= probes; p++ {
					if strings.Contains(line, fmt.Sprintf(`"/scale/sse-probe-%d"`, p)) {
						mu.Lock()
						seen[fmt.Sprint(p)] = append(seen[fmt.Sprint(p)], time.Now())
						mu.Unlock()
					}
				}
			})
		}()
	}
	ready.Wait()
	var lat []float64
	for p := 1; p <= probes; p++ {
		body := fmt.Appendf(nil, `{"id":"/scale/sse-probe-%d","cmd":"sleep 1000","instances":0,"portDefinitions":[]}`, p)
		sent := time.Now()
		if err := d.do(ctx, http.MethodPost, "/v2/apps", body, http.StatusCreated, nil); err != nil {
			t.Fatal(err)
		}
		key := fmt.Sprint(p)
		testenv.WaitFor(t, 30*time.Second, "every subscriber got the probe's event", func() error {
			mu.Lock()
			defer mu.Unlock()
			if n := len(seen[key]); n < subs {
				return fmt.Errorf("%d of %d subscribers", n, subs)
			}
			return nil
		})
		mu.Lock()
		for _, at := range seen[key] {
			lat = append(lat, ms(at.Sub(sent)))
		}
		mu.Unlock()
	}
	cancel()
	wg.Wait()
	sort.Float64s(lat)
	return median(lat), lat[len(lat)-1]
}

// subscribe reads the event stream line by line until ctx ends; ready is
// marked done once the stream's headers arrived (or it failed).
func subscribe(ctx context.Context, c *http.Client, base string, ready *sync.WaitGroup, line func(string)) {
	once := sync.OnceFunc(ready.Done)
	defer once()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v2/events?event_type=api_post_event", nil)
	if err != nil {
		return
	}
	req.Header.Set("Accept", "text/event-stream")
	res, err := c.Do(req)
	if err != nil {
		return
	}
	defer res.Body.Close()
	once()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line(sc.Text())
	}
}
