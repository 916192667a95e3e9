// Package storetest is the conformance suite every store.Store
// implementation passes: the embedded bbolt store and the ZooKeeper one.
//
// Use it from the implementation's tests with a Factory that gives each
// subtest a fresh, empty location and an Opener that (re)opens it:
//
//	storetest.Run(t, func(t *testing.T) storetest.Opener {
//		dir := t.TempDir()
//		return func() (store.Store, error) { return store.OpenBolt(store.BoltConfig{Dir: dir}) }
//	})
package storetest
