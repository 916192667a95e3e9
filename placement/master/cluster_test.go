package master

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/berth-platform/berth/placement/store"
)

// The cluster id is created with the store and read back on every later
// start; /v2/info shows it under Berth's own key.
func TestClusterIDPersists(t *testing.T) {
	dir := t.TempDir()
	open := func() (*Master, store.Store) {
		st, err := store.OpenBolt(store.BoltConfig{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		m, err := New(context.Background(), Config{Store: st})
		if err != nil {
			t.Fatal(err)
		}
		return m, st
	}
	m, st := open()
	id := m.ClusterID()
	if len(id) != 36 {
		t.Fatalf("cluster id %q: want a uuid", id)
	}
	rec := httptest.NewRecorder()
	m.handleInfo(rec, httptest.NewRequest(http.MethodGet, "/v2/info", nil))
	var info struct {
		Berth struct {
			ClusterID string `json:"clusterId"`
		} `json:"berth"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &info); err != nil || info.Berth.ClusterID != id {
		t.Fatalf("/v2/info berth = %+v (%v), want clusterId %s", info.Berth, err, id)
	}
	st.Close()
	m2, st2 := open()
	defer st2.Close()
	if m2.ClusterID() != id {
		t.Fatalf("after a restart the cluster id is %q, want %q", m2.ClusterID(), id)
	}
}
