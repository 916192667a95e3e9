// Package election elects one leader among masters sharing a ZooKeeper
// root, the way Marathon's masters do.
//
// Each candidate creates an ephemeral sequential znode Root/leader/…-candidate-N
// holding its advertised URL; the lowest sequence number leads. A candidate
// watches only its predecessor (no herd effect when an unrelated candidate
// goes) plus the current leader's znode (to know the leader's URL); an
// observer (no Self: agents, standbys' forwarding) watches only the leader's
// znode.
//
// Leadership is handed to the caller as a term: Config.Lead runs with a
// context that is cancelled the moment the client loses its connection to
// ZooKeeper (before the server can expire the session and let another
// candidate win), when the leader abdicates, or when Run ends. The leader's
// work runs under that context, so no two leaders ever act at once; the
// term's Node is a fencing token for the store (zkstore.Store.Fenced).
// After a lost connection the elector rejoins: with the same znode if the
// session survived, with a new one after expiry.
package election
