package zkstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
)

// slogAdapter routes the client's Printf logging to slog at debug level.
type slogAdapter struct{ log *slog.Logger }

func (a slogAdapter) Printf(format string, args ...any) {
	a.log.Debug("zookeeper: " + fmt.Sprintf(format, args...))
}

// connect opens a client and waits (bounded by ctx) until it has a session.
func connect(ctx context.Context, cfg Config) (*zk.Conn, error) {
	ready := make(chan struct{}, 1)
	conn, _, err := zk.Connect(cfg.Servers, cfg.SessionTimeout,
		zk.WithLogger(slogAdapter{cfg.Logger}), zk.WithLogInfo(false),
		zk.WithEventCallback(func(ev zk.Event) {
			if ev.Type == zk.EventSession && ev.State == zk.StateHasSession {
				select {
				case ready <- struct{}{}:
				default:
				}
			}
		}))
	if err != nil {
		return nil, fmt.Errorf("zkstore: connect %s: %w", strings.Join(cfg.Servers, ","), err)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	select {
	case <-ready:
		return conn, nil
	case <-ctx.Done():
		conn.Close()
		return nil, fmt.Errorf("zkstore: connect %s: no session: %w", strings.Join(cfg.Servers, ","), ctx.Err())
	}
}

// transient reports whether err may go away by retrying on the same
// session (the connection dropped or no server answered).
func transient(err error) bool {
	return errors.Is(err, zk.ErrConnectionClosed) || errors.Is(err, zk.ErrNoServer) ||
		errors.Is(err, zk.ErrSessionExpired) || errors.Is(err, zk.ErrSessionMoved)
}

// retry runs fn until it returns nil or a non-transient error, backing off
// between attempts, for at most cfg.RetryFor (and never past ctx).
func (s *Store) retry(ctx context.Context, fn func() error) error {
	deadline := time.Now().Add(s.cfg.RetryFor)
	delay := 50 * time.Millisecond
	for {
		if s.closed.Load() {
			return errClosed
		}
		err := fn()
		if err == nil || !transient(err) || time.Now().After(deadline) {
			if errors.Is(err, zk.ErrClosing) {
				return errClosed
			}
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-time.After(delay):
		}
		delay = min(delay*2, time.Second)
	}
}

// ensurePath creates p and its missing parents (as empty persistent nodes).
func ensurePath(conn *zk.Conn, p string) error {
	if _, err := conn.Create(p, nil, 0, zk.WorldACL(zk.PermAll)); err == nil || errors.Is(err, zk.ErrNodeExists) {
		return nil
	} else if !errors.Is(err, zk.ErrNoNode) {
		return err
	}
	parent := p[:strings.LastIndexByte(p, '/')]
	if parent != "" {
		if err := ensurePath(conn, parent); err != nil {
			return err
		}
	}
	if _, err := conn.Create(p, nil, 0, zk.WorldACL(zk.PermAll)); err != nil && !errors.Is(err, zk.ErrNodeExists) {
		return err
	}
	return nil
}
