// Package zkstore is the ZooKeeper implementation of store.Store, used when
// several masters share one state (`berth master --zk zk://h1:2181,h2:2181/berth`).
//
// Layout under the configured root (say /berth):
//
//	/berth/store                      meta: format and shard count
//	/berth/store/b/<bucket>/<xx>/<key> one znode per key; xx = hash shard
//	/berth/store/blobs/<id>-<n>        chunks of large values
//
// Bucket and key names are escaped into valid znode names (any byte but NUL
// is allowed in a key). Each key hashes to one of 256 shard nodes so that no
// znode gets more children than one getChildren answer can carry.
//
// A value is stored inline (flate-compressed when that pays off) when it is
// small; otherwise it is written first as chunks under blobs/ with a unique
// id, and the key's znode holds only a small pointer. Apply then commits all
// keys of a batch in one ZooKeeper multi (all or nothing, checked against the
// versions it read, retried on conflicts), so neither a single value nor a
// whole batch ever hits ZooKeeper's 1 MiB request limit (jute.maxbuffer).
// Chunks of a value that a batch replaced or deleted are deleted after the
// multi; chunks orphaned by a crash are removed by Sweep.
//
// A Store can be fenced (Fenced) with the leader's election znode: every
// multi then also checks that the znode still exists, so a master that lost
// leadership can never write again.
package zkstore
