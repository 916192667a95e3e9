package election

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
)

type slogAdapter struct{ e *Elector }

func (a slogAdapter) Printf(format string, args ...any) {
	a.e.log.Debug("zookeeper: " + fmt.Sprintf(format, args...))
}

// Run campaigns (or observes) until ctx is done, reconnecting and
// rejoining after connection losses and session expiries. On return the
// session is closed, which removes this candidate's znode at once.
func (e *Elector) Run(ctx context.Context) error {
	dialer := e.cfg.Dialer
	if dialer == nil {
		dialer = net.DialTimeout
	}
	conn, _, err := zk.Connect(e.cfg.Servers, e.cfg.SessionTimeout, zk.WithDialer(dialer),
		zk.WithLogger(slogAdapter{e}), zk.WithLogInfo(false), zk.WithEventCallback(e.onEvent))
	if err != nil {
		return fmt.Errorf("election: connect %s: %w", strings.Join(e.cfg.Servers, ","), err)
	}
	e.mu.Lock()
	e.conn = conn
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.conn = nil
		e.mu.Unlock()
		conn.Close()
		e.setStatus(func(s *Status) { *s = Status{} })
	}()
	var node string
	for {
		if !e.waitSession(ctx, conn) {
			return nil
		}
		node, err = e.round(ctx, conn, node)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			e.log.Warn("election: retrying", "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(250 * time.Millisecond):
			}
		}
	}
}

// waitSession waits for a ZooKeeper session; false when ctx ended first.
func (e *Elector) waitSession(ctx context.Context, conn *zk.Conn) bool {
	for conn.State() != zk.StateHasSession {
		select {
		case <-ctx.Done():
			return false
		case <-e.sess:
		case reply := <-e.abdic:
			reply <- ErrNotLeader
		}
	}
	return ctx.Err() == nil
}

// round runs elections on one session until it is lost, returning this
// candidate's znode (to reuse if the session survives) or "".
func (e *Elector) round(ctx context.Context, conn *zk.Conn, node string) (string, error) {
	sid := conn.SessionID()
	if err := ensureDir(conn, e.dir); err != nil {
		return node, fmt.Errorf("election: create %s: %w", e.dir, err)
	}
	if node != "" {
		ok, _, err := conn.Exists(node)
		if err != nil {
			return node, err
		}
		if !ok {
			e.log.Info("election: session was lost; rejoining", "old", node)
			node = ""
		}
	}
	if e.cfg.Self != "" {
		if err := e.dropStrays(conn, sid, node); err != nil {
			return node, err
		}
	}
	for ctx.Err() == nil && conn.State() == zk.StateHasSession && conn.SessionID() == sid {
		if e.cfg.Self != "" && node == "" {
			p, err := conn.CreateProtectedEphemeralSequential(e.dir+"/candidate-", []byte(e.cfg.Self), zk.WorldACL(zk.PermAll))
			if err != nil {
				return "", fmt.Errorf("election: join %s: %w", e.dir, err)
			}
			e.log.Info("election: joined as candidate", "node", p)
			node = p
		}
		var err error
		if node, err = e.step(ctx, conn, node); err != nil {
			return node, err
		}
	}
	return node, nil
}

// step looks at the candidates once, leads if this candidate is first, or
// waits for a change that matters (predecessor or leader gone, session
// event, abdication request).
func (e *Elector) step(ctx context.Context, conn *zk.Conn, node string) (string, error) {
	if _, err := conn.Sync(e.dir); err != nil {
		return node, err
	}
	kids, _, err := conn.Children(e.dir)
	if err != nil {
		return node, err
	}
	cands := sortCandidates(kids)
	mine := -1
	for i, c := range cands {
		if node != "" && e.dir+"/"+c == node {
			mine = i
		}
	}
	if node != "" && mine < 0 {
		e.log.Warn("election: our candidate znode was deleted; rejoining", "node", node)
		return "", nil
	}
	if len(cands) == 0 {
		e.setStatus(func(s *Status) { s.Connected, s.Leader = true, "" })
		kids, _, w, err := conn.ChildrenW(e.dir)
		if err != nil {
			return node, err
		}
		if len(sortCandidates(kids)) > 0 {
			// Candidates joined between Children and ChildrenW: the watch
			// only fires on the next change, so look again now.
			return node, nil
		}
		e.wait(ctx, w, nil)
		return node, nil
	}
	leader := e.dir + "/" + cands[0]
	data, _, leaderW, err := conn.GetW(leader)
	if errors.Is(err, zk.ErrNoNode) {
		return node, nil // gone meanwhile: look again
	}
	if err != nil {
		return node, err
	}
	if mine == 0 {
		return e.lead(ctx, conn, node, leaderW)
	}
	e.setStatus(func(s *Status) { s.Connected, s.Leader = true, string(data) })
	var predW <-chan zk.Event
	if mine > 1 {
		ok, _, w, err := conn.ExistsW(e.dir + "/" + cands[mine-1])
		if err != nil {
			return node, err
		}
		if !ok {
			return node, nil
		}
		predW = w
	}
	e.wait(ctx, leaderW, predW)
	return node, nil
}

// dropStrays deletes candidate znodes of this session other than node: a
// create whose answer was lost with the connection may have succeeded, and
// such a znode would otherwise reach the head of the queue with nobody
// leading behind it.
func (e *Elector) dropStrays(conn *zk.Conn, sid int64, node string) error {
	kids, _, err := conn.Children(e.dir)
	if err != nil {
		return err
	}
	for _, c := range sortCandidates(kids) {
		p := e.dir + "/" + c
		if p == node {
			continue
		}
		ok, st, err := conn.Exists(p)
		if err != nil {
			return err
		}
		if ok && st.EphemeralOwner == sid {
			e.log.Warn("election: deleting a stray candidate znode of ours", "node", p)
			if err := conn.Delete(p, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
				return err
			}
		}
	}
	return nil
}

// wait blocks until a watch fires, a session event arrives or ctx ends; a
// follower asked to abdicate answers ErrNotLeader.
func (e *Elector) wait(ctx context.Context, a, b <-chan zk.Event) {
	for {
		select {
		case <-a:
		case <-b:
		case <-e.sess:
		case <-ctx.Done():
		case reply := <-e.abdic:
			reply <- ErrNotLeader
			continue
		}
		return
	}
}

// lead runs one term: it starts Lead under a context that the session
// callback cancels on a lost connection, and ends it on abdication, on a
// change of our own znode, when Lead gives up, or when ctx ends.
func (e *Elector) lead(ctx context.Context, conn *zk.Conn, node string, ownW <-chan zk.Event) (string, error) {
	termCtx, cancel := e.beginTerm(ctx, conn)
	defer cancel()
	term := Term{Node: node, Started: time.Now()}
	e.log.Info("election: elected leader", "self", e.cfg.Self, "node", node)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if e.cfg.Lead != nil {
			e.cfg.Lead(termCtx, term)
		} else {
			<-termCtx.Done()
		}
	}()
	var abdicated chan error
	gaveUp := false
	reason := "connection to ZooKeeper lost"
	select {
	case <-termCtx.Done():
		if ctx.Err() != nil {
			reason = "stopping"
		}
	case <-ownW:
		reason = "our election znode changed"
	case abdicated = <-e.abdic:
		reason = "abdicated"
	case <-done:
		// Lead could not lead (e.g. loading the state failed): let
		// another candidate try.
		reason, gaveUp = "Lead returned during the term", true
	}
	e.mu.Lock()
	cancel()
	e.termEnd = nil
	e.mu.Unlock()
	e.setStatus(func(s *Status) { s.Elected = false })
	<-done
	e.log.Info("election: term ended", "reason", reason, "node", node, "lasted", time.Since(term.Started).Round(time.Millisecond))
	if abdicated == nil && !gaveUp {
		return node, nil
	}
	return e.resign(ctx, conn, node, abdicated, gaveUp)
}

// beginTerm registers a new term's cancel func for the session callback and
// marks this candidate elected, atomically with respect to that callback.
func (e *Elector) beginTerm(ctx context.Context, conn *zk.Conn) (context.Context, context.CancelFunc) {
	termCtx, cancel := context.WithCancel(ctx)
	e.mu.Lock()
	e.termEnd = cancel
	if conn.State() != zk.StateHasSession {
		cancel() // the connection went between our look and now
	}
	old := e.status
	e.status.Connected = termCtx.Err() == nil
	e.status.Elected, e.status.Leader = e.status.Connected, e.cfg.Self
	changed := old != e.status
	e.mu.Unlock()
	if changed {
		e.poke()
	}
	return termCtx, cancel
}

// resign deletes our znode after a term that ended by abdication or by Lead
// giving up — only now that Lead has returned, so the next leader starts
// after this one stopped — and answers the abdication request.
func (e *Elector) resign(ctx context.Context, conn *zk.Conn, node string, abdicated chan error, gaveUp bool) (string, error) {
	if err := conn.Delete(node, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
		err = fmt.Errorf("election: abdicate: delete %s: %w", node, err)
		if abdicated != nil {
			abdicated <- err
		}
		return node, err
	}
	if abdicated != nil {
		abdicated <- nil
	}
	if gaveUp {
		// Rejoin after a pause, so that a lone candidate whose Lead keeps
		// failing does not spin.
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return "", nil
}

func (e *Elector) poke() {
	select {
	case e.changes <- struct{}{}:
	default:
	}
}

// ensureDir creates p and its parents.
func ensureDir(conn *zk.Conn, p string) error {
	_, err := conn.Create(p, nil, 0, zk.WorldACL(zk.PermAll))
	if err == nil || errors.Is(err, zk.ErrNodeExists) {
		return nil
	}
	if !errors.Is(err, zk.ErrNoNode) {
		return err
	}
	if parent := p[:strings.LastIndexByte(p, '/')]; parent != "" {
		if err := ensureDir(conn, parent); err != nil {
			return err
		}
	}
	if _, err := conn.Create(p, nil, 0, zk.WorldACL(zk.PermAll)); err != nil && !errors.Is(err, zk.ErrNodeExists) {
		return err
	}
	return nil
}

// LeaderURL connects to ZooKeeper, waits (bounded by ctx) until a leader
// is known under root and returns its URL. To follow the leader across
// failovers, run an observer instead: New(Config{Servers, Root}) and Run,
// then Leader and Changes.
func LeaderURL(ctx context.Context, servers []string, root string) (string, error) {
	e, err := New(Config{Servers: servers, Root: root})
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- e.Run(ctx) }()
	defer func() {
		cancel()
		<-ran
	}()
	for {
		if url, ok := e.Leader(); ok {
			return url, nil
		}
		select {
		case <-e.Changes():
		case err := <-ran:
			ran <- err
			return "", fmt.Errorf("election: find leader: %w", err)
		case <-ctx.Done():
			return "", fmt.Errorf("election: find leader under %s: %w", root, ctx.Err())
		}
	}
}
