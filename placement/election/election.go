package election

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
)

// ErrNotLeader is returned by Abdicate on a candidate that does not lead.
var ErrNotLeader = errors.New("election: not the leader")

// ErrNotRunning is returned by Abdicate when Run is not running.
var ErrNotRunning = errors.New("election: not running")

// Config configures an Elector.
type Config struct {
	// Servers are the ZooKeeper servers (host:port).
	Servers []string
	// Root is the shared root znode (e.g. /berth); election znodes live
	// under Root/leader.
	Root string
	// Self is this candidate's advertised URL (e.g. http://10.0.0.1:8080).
	// Empty makes an observer that only follows the leader.
	Self string
	// SessionTimeout is the ZooKeeper session timeout (default 10 s): a
	// leader that dies is replaced about this long after.
	SessionTimeout time.Duration
	// Lead, when set, runs for each term this candidate leads, with a
	// context cancelled when the term ends; Run waits for it to return
	// before campaigning again. It must return promptly once ctx is done.
	// Returning earlier gives the leadership up (like Abdicate, without
	// the call: Lead must never call Abdicate itself, which would wait for
	// Lead to return).
	Lead func(ctx context.Context, term Term)
	// Logger receives elections, terms and connection changes.
	Logger *slog.Logger
	// Dialer overrides how the client connects (default net.DialTimeout).
	Dialer func(network, address string, timeout time.Duration) (net.Conn, error)
}

// Term is one period of leadership.
type Term struct {
	// Node is this leader's election znode. It exists exactly as long as
	// the leadership can be valid: use it as a fencing token.
	Node string
	// Started is when the term began (local clock).
	Started time.Time
}

// Status is a snapshot of what this elector knows.
type Status struct {
	Connected bool   // the client has a ZooKeeper session
	Elected   bool   // this candidate leads (its term is running)
	Leader    string // the current leader's URL, "" when unknown or none
}

// Elector campaigns for leadership (or only observes, without Self).
type Elector struct {
	cfg     Config
	dir     string
	log     *slog.Logger
	changes chan struct{}
	abdic   chan chan error
	sess    chan struct{} // poked on every session event

	mu        sync.Mutex
	status    Status
	termEnd   context.CancelFunc // cancels the running term, if any
	connected bool
	conn      *zk.Conn // Run's client, nil when Run is not running
}

// New checks cfg and returns an Elector; Run starts it.
func New(cfg Config) (*Elector, error) {
	if len(cfg.Servers) == 0 {
		return nil, errors.New("election: config: no ZooKeeper servers")
	}
	if !strings.HasPrefix(cfg.Root, "/") || path.Clean(cfg.Root) != cfg.Root {
		return nil, fmt.Errorf("election: config: root %q must be a clean absolute path like /berth", cfg.Root)
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Elector{
		cfg: cfg, dir: strings.TrimSuffix(cfg.Root, "/") + "/leader", log: cfg.Logger,
		changes: make(chan struct{}, 1), abdic: make(chan chan error), sess: make(chan struct{}, 1),
	}, nil
}

// Status returns a snapshot.
func (e *Elector) Status() Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.status
}

// Leader returns the current leader's URL; ok is false when there is none
// or this elector cannot currently tell (no ZooKeeper session).
func (e *Elector) Leader() (url string, ok bool) {
	st := e.Status()
	return st.Leader, st.Connected && st.Leader != ""
}

// IsLeader reports whether this candidate's term is running.
func (e *Elector) IsLeader() bool { return e.Status().Elected }

// Self is this candidate's advertised URL.
func (e *Elector) Self() string { return e.cfg.Self }

// Changes is poked (capacity 1, never closed) whenever Status changes.
func (e *Elector) Changes() <-chan struct{} { return e.changes }

// Abdicate ends this leader's term, deletes its znode so the next
// candidate takes over, and rejoins at the back of the queue. It returns
// ErrNotLeader on a candidate that does not lead.
func (e *Elector) Abdicate(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case e.abdic <- reply:
	case <-ctx.Done():
		return fmt.Errorf("%w (%v)", ErrNotRunning, ctx.Err())
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *Elector) setStatus(f func(*Status)) {
	e.mu.Lock()
	old := e.status
	f(&e.status)
	changed := old != e.status
	e.mu.Unlock()
	if changed {
		select {
		case e.changes <- struct{}{}:
		default:
		}
	}
}

// onEvent is the client's event callback: it must not block. A lost
// connection ends the running term at once.
func (e *Elector) onEvent(ev zk.Event) {
	if ev.Type != zk.EventSession {
		return
	}
	if ev.State != zk.StateHasSession {
		e.mu.Lock()
		end := e.termEnd
		e.mu.Unlock()
		if end != nil {
			end()
		}
		e.setStatus(func(s *Status) { s.Connected, s.Elected = false, false })
	}
	select {
	case e.sess <- struct{}{}:
	default:
	}
}

// seq is the sequence number at the end of a candidate znode name.
func seq(name string) int64 {
	i := strings.LastIndexByte(name, '-')
	n, err := strconv.ParseInt(name[i+1:], 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// sortCandidates orders candidate znode names by sequence, ignoring
// anything that is not a candidate.
func sortCandidates(names []string) []string {
	out := names[:0]
	for _, n := range names {
		if strings.Contains(n, "candidate-") && seq(n) >= 0 {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return seq(out[i]) < seq(out[j]) })
	return out
}
