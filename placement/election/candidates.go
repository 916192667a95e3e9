package election

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-zookeeper/zk"
)

// ErrNoSession is returned by Candidates while the elector has no
// ZooKeeper session (Run not running, or the connection is lost).
var ErrNoSession = errors.New("election: no ZooKeeper session")

// Candidate is one member of the group as ZooKeeper lists it.
type Candidate struct {
	// URL is the candidate's advertised URL (its Config.Self).
	URL string `json:"url"`
	// Leader is set on the first candidate in line: the one that leads,
	// or is about to (a new term starts as soon as it sees its turn).
	Leader bool `json:"leader"`
}

// Candidates reads the candidates under Root/leader, in line order (the
// leader first), on the elector's current session. Observers are not
// candidates and are not listed. ZooKeeper requests cannot be cancelled:
// ctx is checked between them, and a request in flight ends at the latest
// when the client gives the connection up (within the session timeout).
func (e *Elector) Candidates(ctx context.Context) ([]Candidate, error) {
	e.mu.Lock()
	conn := e.conn
	e.mu.Unlock()
	if conn == nil || conn.State() != zk.StateHasSession {
		return nil, ErrNoSession
	}
	kids, _, err := conn.Children(e.dir)
	if errors.Is(err, zk.ErrNoNode) {
		return []Candidate{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("election: list candidates under %s: %w", e.dir, err)
	}
	out := []Candidate{}
	for _, c := range sortCandidates(kids) {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("election: list candidates under %s: %w", e.dir, err)
		}
		data, _, err := conn.Get(e.dir + "/" + c)
		if errors.Is(err, zk.ErrNoNode) {
			continue // left meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("election: read candidate %s/%s: %w", e.dir, c, err)
		}
		out = append(out, Candidate{URL: string(data), Leader: len(out) == 0})
	}
	return out, nil
}
