package agentapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/agent"
	"github.com/berth-platform/berth/internal/wire"
)

// TestSecret: the client sends the agents' --agent-secret as a bearer
// token; an agent requiring one refuses a client without it, and the
// error names the agent and the agent's reason.
func TestSecret(t *testing.T) {
	srv := httptest.NewServer(agent.RequireSecret("s3cret", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(wire.AgentTasks{AgentID: "a1", ClusterID: "c1"})
	})))
	defer srv.Close()
	ctx := context.Background()
	got, err := Client{Secret: "s3cret"}.Tasks(ctx, srv.URL, 0, time.Second)
	if err != nil || got.AgentID != "a1" {
		t.Fatalf("with the secret: %+v, %v", got, err)
	}
	for _, c := range []Client{{}, {Secret: "other"}} {
		_, err := c.Tasks(ctx, srv.URL, 0, time.Second)
		if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), srv.URL) ||
			!strings.Contains(err.Error(), "Authorization") {
			t.Errorf("secret %q: err %v, want a 401 naming the agent and the header", c.Secret, err)
		}
	}
}
