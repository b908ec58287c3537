package email

import (
	"context"
	"sync"
)

// pool keeps up to size SMTP sessions open. A slot bounds how many
// connections exist at once (idle or busy), so a burst of sends waits for a
// session instead of flooding the server with connections it would refuse.
type pool struct {
	cc         *connConfig
	maxPerConn int
	slots      chan struct{}
	idle       chan *smtpConn

	mu     sync.Mutex
	closed bool
	done   chan struct{}
}

func newPool(cc *connConfig, size, maxPerConn int) *pool {
	return &pool{
		cc:         cc,
		maxPerConn: maxPerConn,
		slots:      make(chan struct{}, size),
		idle:       make(chan *smtpConn, size),
		done:       make(chan struct{}),
	}
}

// send delivers one message. A pooled connection the server closed while it
// sat idle fails before the server says anything about the message; that
// case alone is retried, once, on a fresh connection, so a message is never
// sent twice by this retry.
func (p *pool) send(ctx context.Context, from, to string, msg []byte) (string, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return "", ctxError("waiting for a free SMTP connection", ctx)
	case <-p.done:
		return "", ErrClosed
	}
	defer func() { <-p.slots }()

	var c *smtpConn
	select {
	case c = <-p.idle:
	default:
	}
	if c == nil {
		var err error
		if c, err = p.dial(ctx); err != nil {
			return "", err
		}
	}
	id, stale, err := c.deliver(ctx, from, to, msg)
	if err != nil && stale {
		c.broken = true
		c.close()
		if c, err = p.dial(ctx); err != nil {
			return "", err
		}
		id, _, err = c.deliver(ctx, from, to, msg)
	}
	p.put(c)
	return id, err
}

func (p *pool) dial(ctx context.Context) (*smtpConn, error) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	return dialConn(ctx, p.cc)
}

// put returns a healthy connection to the pool; one that is broken, has
// carried MaxPerConn messages, or outlived the pool is closed instead.
func (p *pool) put(c *smtpConn) {
	if c.broken || c.used >= p.maxPerConn {
		c.close()
		return
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		c.close()
		return
	}
	// Never blocks: the caller holds a slot, so fewer than size
	// connections are idle.
	p.idle <- c
	p.mu.Unlock()
}

// close ends every idle session; busy ones end when their send returns.
func (p *pool) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	close(p.done)
	p.mu.Unlock()
	for {
		select {
		case c := <-p.idle:
			c.close()
		default:
			return
		}
	}
}
