package master

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/berth-platform/berth/placement/store"
	"github.com/google/uuid"
)

// The cluster id lives in its own bucket, created with the store: the
// first master to open an empty store (bbolt, or the ZooKeeper group's
// first leader) writes it, every later start reads it back.
const (
	bucketCluster = "cluster"
	keyClusterID  = "id"
)

// loadClusterID reads the cluster id, creating it on the store's first
// start. With ZooKeeper only the elected leader builds a Master, and its
// store is fenced, so two masters never both create one.
func loadClusterID(ctx context.Context, st store.Store) (string, error) {
	b, err := st.Get(ctx, bucketCluster, keyClusterID)
	switch {
	case err == nil:
		id := strings.TrimSpace(string(b))
		if id == "" {
			return "", errors.New("master: the store's cluster id is empty")
		}
		return id, nil
	case !errors.Is(err, store.ErrNotFound):
		return "", fmt.Errorf("master: load cluster id: %w", err)
	}
	id := uuid.NewString()
	if err := st.Apply(ctx, store.Put(bucketCluster, keyClusterID, []byte(id))); err != nil {
		return "", fmt.Errorf("master: create cluster id: %w", err)
	}
	return id, nil
}

// ClusterID is the cluster's identity (stable across restarts and
// failovers).
func (m *Master) ClusterID() string { return m.clusterID }

// clusterIDInfo is /v2/info's berth.clusterId: nil (JSON null) on a
// standby, which has no store to read it from.
func (m *Master) clusterIDInfo() any {
	if m.clusterID == "" {
		return nil
	}
	return m.clusterID
}
