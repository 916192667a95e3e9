package scale

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Driver uses the master's public /v2 API only.
type Driver struct {
	Base   string // http://127.0.0.1:port
	Client *http.Client
}

// NewDriver builds a driver with a connection pool for conc clients.
func NewDriver(base string, conc int) *Driver {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = conc+8, conc+8
	return &Driver{Base: base, Client: &http.Client{Transport: tr, Timeout: 5 * time.Minute}}
}

// AppBody is the definition of scale app i: a process app with no ports
// whose instances each take a sliver of an agent.
func AppBody(i, instances int) []byte {
	return fmt.Appendf(nil, `{"id":"/scale/app-%05d","cmd":"sleep 1000000","cpus":0.01,"mem":1,"disk":0,"instances":%d,"portDefinitions":[]}`, i, instances)
}

// PostApps posts apps 1..n from conc concurrent clients and returns the
// wall time; any answer but 201 is an error.
func (d *Driver) PostApps(ctx context.Context, n, instances, conc int) (time.Duration, error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conc)
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1))
				if i > n || ctx.Err() != nil {
					return
				}
				if err := d.do(ctx, http.MethodPost, "/v2/apps", AppBody(i, instances), http.StatusCreated, nil); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// appCounts is the part of GET /v2/apps the driver reads.
type appCounts struct {
	Apps []struct {
		ID           string `json:"id"`
		Instances    int    `json:"instances"`
		TasksRunning int    `json:"tasksRunning"`
		TasksStaged  int    `json:"tasksStaged"`
	} `json:"apps"`
}

// Running sums tasksRunning over every app, as the master reports it.
func (d *Driver) Running(ctx context.Context) (apps, running int, err error) {
	var out appCounts
	if err := d.do(ctx, http.MethodGet, "/v2/apps", nil, http.StatusOK, &out); err != nil {
		return 0, 0, err
	}
	for _, a := range out.Apps {
		running += a.TasksRunning
	}
	return len(out.Apps), running, nil
}

// Timed GETs path runs times and returns each request's duration and the
// last body's size; the body is read whole (a client's view).
func (d *Driver) Timed(ctx context.Context, path string, runs int) ([]float64, int, error) {
	var out []float64
	size := 0
	for i := 0; i < runs; i++ {
		start := time.Now()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.Base+path, nil)
		if err != nil {
			return nil, 0, err
		}
		res, err := d.Client.Do(req)
		if err != nil {
			return nil, 0, err
		}
		n, err := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK {
			return nil, 0, fmt.Errorf("GET %s: %d %v", path, res.StatusCode, err)
		}
		out = append(out, ms(time.Since(start)))
		size = int(n)
	}
	return out, size, nil
}

func (d *Driver) do(ctx context.Context, method, path string, body []byte, want int, out any) error {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.Base+path, r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := d.Client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read: %w", method, path, err)
	}
	if res.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, bytes.TrimSpace(b[:min(len(b), 300)]))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}
