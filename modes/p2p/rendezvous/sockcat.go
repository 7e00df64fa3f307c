package rendezvous

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"
)

// sockcatConn is a connection to a `sockcat rendezvous` server.
type sockcatConn struct {
	conn net.Conn
	url  string

	wmu sync.Mutex

	msgs   chan []byte   // messages from the peer, in order
	done   chan struct{} // closed when the reader ends
	err    error         // why the reader ended (read after done)
	closed chan struct{}
	once   sync.Once
}

// dialSockcat connects, allocates or claims, and waits for the answer.
func dialSockcat(ctx context.Context, u *url.URL, nameplate string) (transport, string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, "", describe(u, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	b, _ := AppendFrame(nil, HelloFrame(nameplate))
	if _, err := conn.Write(b); err != nil {
		conn.Close()
		return nil, "", describe(u, ctxErr(ctx, err))
	}
	f, err := readFrame(conn, nil)
	if err != nil {
		conn.Close()
		return nil, "", describe(u, ctxErr(ctx, fmt.Errorf("no answer: %w", err)))
	}
	switch f.Kind {
	case KindNameplate:
		if checkNameplate(string(f.Body)) != nil || (nameplate != "" && string(f.Body) != nameplate) {
			conn.Close()
			return nil, "", describe(u, errors.New("the server answered with a bad nameplate"))
		}
	case KindError:
		conn.Close()
		reason, text := ParseError(f.Body)
		return nil, "", &RefusedError{URL: u.String(), Reason: reason, Text: text}
	default:
		conn.Close()
		return nil, "", describe(u, fmt.Errorf("unexpected answer 0x%02x", f.Kind))
	}
	if !stop() {
		conn.Close()
		return nil, "", describe(u, ctx.Err())
	}
	conn.SetDeadline(time.Time{})
	c := &sockcatConn{
		conn:   conn,
		url:    u.String(),
		msgs:   make(chan []byte, 64),
		done:   make(chan struct{}),
		closed: make(chan struct{}),
	}
	go c.reader()
	return c, string(f.Body), nil
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// reader owns the connection's read side: it turns frames into messages
// until the peer leaves, the server refuses, or the connection ends.
func (c *sockcatConn) reader() {
	defer close(c.done)
	for {
		f, err := readFrame(c.conn, nil)
		if err != nil {
			c.err = fmt.Errorf("rendezvous %s: connection lost: %w", c.url, err)
			return
		}
		switch f.Kind {
		case KindMessage:
			select {
			case c.msgs <- f.Body:
			case <-c.closed: // drain to EOF so closing does not reset the stream
			}
		case KindGone:
			c.err = ErrPeerGone
			return
		case KindError:
			reason, text := ParseError(f.Body)
			c.err = &RefusedError{URL: c.url, Reason: reason, Text: text}
			return
		default:
			c.err = fmt.Errorf("rendezvous %s: unexpected frame 0x%02x", c.url, f.Kind)
			return
		}
	}
}

func (c *sockcatConn) send(ctx context.Context, msg []byte) error {
	select {
	case <-c.closed:
		return ErrClosed
	default:
	}
	b, err := AppendFrame(nil, Frame{Kind: KindMessage, Body: msg})
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	stop := context.AfterFunc(ctx, func() { c.conn.SetWriteDeadline(time.Now()) })
	defer stop()
	if _, err := c.conn.Write(b); err != nil {
		return fmt.Errorf("rendezvous %s: %w", c.url, ctxErr(ctx, err))
	}
	if !stop() {
		// The deadline may have cut the write short; the stream is unusable.
		c.conn.Close()
		return ctx.Err()
	}
	return nil
}

func (c *sockcatConn) recv(ctx context.Context) ([]byte, error) {
	select {
	case <-c.closed:
		return nil, ErrClosed
	default:
	}
	select {
	case m := <-c.msgs:
		return m, nil
	default:
	}
	select {
	case m := <-c.msgs:
		return m, nil
	case <-c.done:
		select {
		case m := <-c.msgs: // delivered before the reader ended
			return m, nil
		default:
		}
		return nil, c.err
	case <-c.closed:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *sockcatConn) close() error {
	c.once.Do(func() {
		close(c.closed)
		c.wmu.Lock()
		// Finish what was written, then say goodbye by closing our side.
		if tc, ok := c.conn.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
		c.wmu.Unlock()
		c.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		<-c.done
		c.conn.Close()
	})
	return nil
}
