package master

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

// TestEventStreamLimit: beyond --max-event-streams a subscriber gets 503
// naming the limit; a closed stream frees its place.
func TestEventStreamLimit(t *testing.T) {
	sm := serveMaster(t, func(c *ServerConfig) { c.Master.MaxEventStreams = 2 })
	url := "http://" + sm.addr + "/v2/events"
	open := func() (*http.Response, context.CancelFunc) {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		return res, cancel
	}
	var cancels []context.CancelFunc
	defer func() {
		for _, c := range cancels {
			c()
		}
	}()
	for i := 0; i < 2; i++ {
		res, cancel := open()
		cancels = append(cancels, cancel)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("stream %d: %d", i+1, res.StatusCode)
		}
	}
	res, cancel := open()
	if res.StatusCode == http.StatusOK {
		cancel()
		t.Fatal("third stream admitted beyond --max-event-streams 2")
	}
	body, _ := io.ReadAll(res.Body)
	cancel()
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "at most 2") || !strings.Contains(string(body), "--max-event-streams") {
		t.Fatalf("third stream: %d %s, want 503 naming the limit", res.StatusCode, body)
	}
	cancels[0]()
	testenv.WaitFor(t, 5*time.Second, "a place freed by a closed stream", func() error {
		res, cancel := open()
		if res.StatusCode != http.StatusOK {
			cancel()
			return fmt.Errorf("%d", res.StatusCode)
		}
		cancels = append(cancels, cancel)
		return nil
	})
}

// TestSlowHeadersCut: a client that sends its headers a byte at a time
// is cut off after the read-header timeout, on the API and the Chronos
// port; an idle keep-alive connection after the idle timeout.
func TestSlowHeadersCut(t *testing.T) {
	sm := serveMaster(t, func(c *ServerConfig) {
		c.ReadHeaderTimeout, c.IdleTimeout = 300*time.Millisecond, 300*time.Millisecond
	})
	for _, addr := range []string{sm.addr, sm.chronos} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		cut := make(chan error, 1)
		go func() {
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err := io.Copy(io.Discard, conn) // returns when the server closes
			cut <- err
		}()
		_, _ = io.WriteString(conn, "GET /ping HTTP/1.1\r\nHost: x\r\nX-Slow: ")
	trickle:
		for {
			select {
			case err := <-cut:
				if errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("%s: slow headers still open after %s", addr, time.Since(start))
				}
				break trickle
			case <-time.After(50 * time.Millisecond):
				_, _ = conn.Write([]byte("a"))
			}
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s: slow headers cut after %s, want about 300 ms", addr, d)
		}
		conn.Close()
	}
	conn, err := net.Dial("tcp", sm.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	start := time.Now()
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("idle keep-alive connection: %v after %s, want EOF", err, time.Since(start))
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("idle connection closed after %s, want about 300 ms", d)
	}
}

// TestWriteRateLimit: --write-rate 2 admits two writes at once, answers
// the third 429 with Retry-After and the limit, never limits reads, and
// admits again as the bucket refills (on the fake clock).
func TestWriteRateLimit(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.WriteRate = 2 })
	post := func(id string) resp {
		return h.do("POST", "/v2/apps", `{"id":"/`+id+`","cmd":"sleep 1","instances":0}`)
	}
	for _, id := range []string{"a", "b"} {
		if r := post(id); r.code != http.StatusCreated {
			t.Fatalf("write %s within the rate: %d %s", id, r.code, r.body)
		}
	}
	r := h.do("DELETE", "/v2/apps/a", "")
	if r.code != http.StatusTooManyRequests || r.header.Get("Retry-After") != "1" ||
		!strings.Contains(string(r.body), "at most 2 writes/s") || !strings.Contains(string(r.body), "--write-rate") {
		t.Fatalf("third write: %d Retry-After %q %s", r.code, r.header.Get("Retry-After"), r.body)
	}
	if r := h.do("PUT", "/scheduler/job/x", "{}"); r.code != http.StatusTooManyRequests {
		t.Errorf("a Chronos write beyond the rate: %d %s", r.code, r.body)
	}
	for _, path := range []string{"/v2/apps", "/v2/info", "/scheduler/jobs"} {
		if r := h.do("GET", path, ""); r.code != http.StatusOK {
			t.Errorf("GET %s while writes are limited: %d %s", path, r.code, r.body)
		}
	}
	h.clock.Advance(500 * time.Millisecond)
	if r := post("c"); r.code != http.StatusCreated {
		t.Fatalf("write after a refill of one token: %d %s", r.code, r.body)
	}
	if r := post("d"); r.code != http.StatusTooManyRequests {
		t.Fatalf("second write after one token: %d %s", r.code, r.body)
	}
	if _, err := ParseWriteRate("x/s"); err == nil || !strings.Contains(err.Error(), "--write-rate") {
		t.Errorf("ParseWriteRate(x/s): %v", err)
	}
	if v, err := ParseWriteRate("5/s"); err != nil || v != 5 {
		t.Errorf("ParseWriteRate(5/s) = %v, %v", v, err)
	}
}
