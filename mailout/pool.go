package mailout

import (
	"context"
	"errors"
	"io"
)

// Pool spreads sends over several transports (one relay connection each),
// so the sender's workers do not queue behind a single SMTP connection.
type Pool struct {
	free chan Transport
	all  []Transport
}

// NewPool returns a pool of n transports made by newT.
func NewPool(n int, newT func() Transport) *Pool {
	p := &Pool{free: make(chan Transport, n)}
	for range n {
		t := newT()
		p.all = append(p.all, t)
		p.free <- t
	}
	return p
}

// Send borrows a transport for one message.
func (p *Pool) Send(ctx context.Context, env Envelope, msg io.Reader) error {
	var t Transport
	select {
	case t = <-p.free:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { p.free <- t }()
	return t.Send(ctx, env, msg)
}

// Close closes every transport.
func (p *Pool) Close() error {
	var errs []error
	for _, t := range p.all {
		errs = append(errs, t.Close())
	}
	return errors.Join(errs...)
}
