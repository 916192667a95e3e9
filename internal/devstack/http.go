package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// getOnce GETs url once; a non-200 answer or a failing check is an error.
func getOnce(ctx context.Context, url string, check func([]byte) error) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if check != nil {
		return check(body)
	}
	return nil
}

// waitHTTP polls getOnce until it succeeds or timeout passes.
func waitHTTP(ctx context.Context, timeout time.Duration, url string, check func([]byte) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := getOnce(ctx, url, check)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %v", url, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func dialOnce(ctx context.Context, addr string) error {
	var d net.Dialer
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

// agentActive succeeds once the master lists an active agent with this
// hostname.
func (s *Stack) agentActive(ctx context.Context, hostname string) error {
	return getOnce(ctx, s.MasterURL+"/master/slaves", func(body []byte) error {
		var out struct {
			Slaves []struct {
				Hostname string `json:"hostname"`
				Active   bool   `json:"active"`
			} `json:"slaves"`
		}
		if err := json.Unmarshal(body, &out); err != nil {
			return err
		}
		for _, sl := range out.Slaves {
			if sl.Hostname == hostname && sl.Active {
				return nil
			}
		}
		return fmt.Errorf("the master lists no active agent %s yet", hostname)
	})
}
