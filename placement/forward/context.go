package forward

import (
	"context"
	"io"
	"net/url"
	"sync/atomic"
	"time"
)

// attempt is one try at proxying a request to a leader.
type attempt struct {
	leader   string // as the election names it
	target   *url.URL
	deadline time.Time
	body     *guardedBody
	err      error // set by the error handler: nothing was sent, try the next leader
}

type attemptKey struct{}

func withAttempt(ctx context.Context, at *attempt) context.Context {
	return context.WithValue(ctx, attemptKey{}, at)
}

func attemptOf(ctx context.Context) *attempt {
	at, _ := ctx.Value(attemptKey{}).(*attempt)
	if at == nil {
		return &attempt{target: &url.URL{}, body: &guardedBody{}}
	}
	return at
}

// guardedBody counts what was read of a request body, so a request is only
// retried when nothing of it was sent, and ignores Close (the transport
// closes bodies after a failed attempt; the server closes the real one).
type guardedBody struct {
	rc io.ReadCloser
	n  atomic.Int64
}

func (b *guardedBody) Read(p []byte) (int, error) {
	if b.rc == nil {
		return 0, io.EOF
	}
	n, err := b.rc.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func (b *guardedBody) Close() error { return nil }
