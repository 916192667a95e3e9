package store_test

import (
	"testing"

	"github.com/berth-platform/berth/placement/store"
	"github.com/berth-platform/berth/placement/store/storetest"
)

func TestBoltConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Opener {
		dir := t.TempDir()
		return func() (store.Store, error) { return store.OpenBolt(store.BoltConfig{Dir: dir}) }
	})
}
