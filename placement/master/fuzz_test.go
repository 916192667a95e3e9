package master

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"sort"
	"strings"
	"sync"

	"github.com/berth-platform/berth/placement/store"
)

// memStore is an in-memory store.Store for fuzzing the API quickly; the
// real stores are covered by storetest.
type memStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

func newMemStore() *memStore { return &memStore{m: map[string][]byte{}} }

func (s *memStore) Get(_ context.Context, bucket, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[bucket+"\x00"+key]
	if !ok {
		return nil, store.ErrNotFound
	}
	return bytes.Clone(v), nil
}

func (s *memStore) List(_ context.Context, bucket, prefix string) ([]store.KV, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.KV
	for k, v := range s.m {
		if rest, ok := strings.CutPrefix(k, bucket+"\x00"); ok && strings.HasPrefix(rest, prefix) {
			out = append(out, store.KV{Key: rest, Value: bytes.Clone(v)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func (s *memStore) Apply(_ context.Context, ops ...store.Op) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, op := range ops {
		if op.Delete {
			delete(s.m, op.Bucket+"\x00"+op.Key)
		} else {
			s.m[op.Bucket+"\x00"+op.Key] = bytes.Clone(op.Value)
		}
	}
	return nil
}

func (s *memStore) Close() error { return nil }

// FuzzPostApp sends arbitrary bodies to POST /v2/apps and PUT/PATCH
// /v2/apps/{id}: the answer is never a 5xx.
func FuzzPostApp(f *testing.F) {
	for _, s := range []string{
		`{"id":"/a","cmd":"x"}`, `{"id":"/a","cmd":"x","cpus":-1}`, `{"id":`, `[]`, `{"version":"x"}`,
		`{"id":"/b","container":{"docker":{"image":"i","network":"BRIDGE","portMappings":[{"containerPort":80,"servicePort":10001}]}}}`,
		`{"id":"/c","cmd":"x","portDefinitions":[{"port":10001},{"port":0}],"healthChecks":[{"portIndex":1}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := New(context.Background(), Config{Store: newMemStore()})
		if err != nil {
			t.Fatal(err)
		}
		h := m.Handler()
		for _, req := range []struct{ method, path string }{
			{"POST", "/v2/apps"}, {"PUT", "/v2/apps/a"}, {"PATCH", "/v2/apps/a"}, {"PUT", "/v2/apps"},
		} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(req.method, req.path+"?force=true", bytes.NewReader(body)))
			if rec.Code >= 500 {
				t.Fatalf("%s %s with %q: %d %s", req.method, req.path, body, rec.Code, rec.Body)
			}
			if rec.Code >= 400 && rec.Code != http.StatusNotFound && !bytes.Contains(rec.Body.Bytes(), []byte(`"message"`)) {
				t.Fatalf("%s %s: %d without a message: %s", req.method, req.path, rec.Code, rec.Body)
			}
		}
	})
}
