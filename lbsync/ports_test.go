package lbsync

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

// TestBusyServicePortIsHeldBack: a servicePort another process listens on
// is not bound by HAProxy (no SO_REUSEPORT sharing); the error names the
// port, every other servicePort is served, and once the port is free the
// held-back app is served too (apply retries with backoff).
func TestBusyServicePortIsHeldBack(t *testing.T) {
	h := startHarness(t, harnessOpts{probePorts: true})
	busy, other := testenv.FreePort(t), testenv.FreePort(t)
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(busy))
	if err != nil {
		t.Fatal(err)
	}
	h.register("/blocked", busy, newBackend(t, "blocked"))
	h.register("/free", other, newBackend(t, "free"))
	h.expectSet(other, "", "free")
	want := fmt.Sprintf("port %d (servicePort of /blocked) is already in use by another process", busy)
	testenv.WaitFor(t, 10*time.Second, "the error names the busy port", func() error {
		if st := h.syncer.Status(); !strings.Contains(st.LastError, want) {
			return fmt.Errorf("last error %q", st.LastError)
		}
		return nil
	})
	ln.Close()
	h.expectSet(busy, "", "blocked")
}
