package p2p

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/quic-go/quic-go"
)

// Application error codes on the connection and the stream.
const (
	codeDone  quic.ApplicationErrorCode = 0 // both directions ended cleanly
	codeReset quic.ApplicationErrorCode = 1 // abandoned: the peer sees a reset

	streamReset quic.StreamErrorCode = 1 // RESET_STREAM / STOP_SENDING: as a TCP reset
)

// linger bounds how long Close waits for the peer to confirm that it read
// everything we sent (the kernel does this for TCP after close; QUIC lives
// in the process).
const linger = 60 * time.Second

// Path describes the path a connection took.
type Path struct {
	Kind   string         // "lan", "direct" or "relay"
	Local  netip.AddrPort // our address on that path (the relayed one when we relay)
	Remote netip.AddrPort // the address we send to
}

// Addr is a p2p endpoint address; its network is "quic".
type Addr struct{ netip.AddrPort }

// Network returns "quic".
func (Addr) Network() string { return "quic" }

// Conn is the one bidirectional QUIC stream between the peers, behaving
// like a TCP connection (SPEC §3): CloseWrite sends FIN, Close without it
// resets, a reset peer gives ECONNRESET.
type Conn struct {
	qc   *quic.Conn
	st   *quic.Stream
	path Path

	finSent   atomic.Bool
	eofRead   atomic.Bool
	confirmed chan struct{} // the peer read our FIN
	ctrl      sync.WaitGroup
	closeOnce sync.Once
	release   func()          // closes the sockets and relay allocations
	lingerCtx context.Context // ends Close's wait early (an interrupt)
}

func newConn(qc *quic.Conn, st *quic.Stream, path Path, release func()) *Conn {
	c := &Conn{qc: qc, st: st, path: path, confirmed: make(chan struct{}), release: release, lingerCtx: context.Background()}
	c.ctrl.Add(1)
	go awaitConfirm(c)
	return c
}

// awaitConfirm waits for the peer's control stream: one byte, sent when it
// read our FIN.
func awaitConfirm(c *Conn) {
	defer c.ctrl.Done()
	u, err := c.qc.AcceptUniStream(c.qc.Context())
	if err != nil {
		return
	}
	var b [1]byte
	if _, err := io.ReadFull(u, b[:]); err == nil {
		close(c.confirmed)
	}
}

// SetLingerContext makes Close stop waiting for the peer's confirmation
// when ctx ends (an interrupted user should not wait for a slow reader).
// Call it before Close.
func (c *Conn) SetLingerContext(ctx context.Context) { c.lingerCtx = ctx }

// Path returns the path the connection uses.
func (c *Conn) Path() Path { return c.path }

// Read reads from the stream; at the peer's FIN it confirms receipt.
func (c *Conn) Read(p []byte) (int, error) {
	n, err := c.st.Read(p)
	if err == io.EOF && !c.eofRead.Swap(true) {
		if u, uerr := c.qc.OpenUniStream(); uerr == nil {
			u.Write([]byte{1})
			u.Close()
		}
	}
	return n, mapErr(err)
}

// Write writes to the stream.
func (c *Conn) Write(p []byte) (int, error) {
	n, err := c.st.Write(p)
	return n, mapErr(err)
}

// CloseWrite sends FIN: the peer reads EOF once it has everything.
func (c *Conn) CloseWrite() error {
	c.finSent.Store(true)
	return mapErr(c.st.Close())
}

// Close ends the connection. After CloseWrite it waits (at most linger)
// until the peer confirmed reading everything; without CloseWrite it resets
// the stream, as closing a TCP socket with SO_LINGER 0 would.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		fin := c.finSent.Load()
		if !fin {
			c.st.CancelWrite(streamReset)
		}
		eof := c.eofRead.Load()
		if !eof {
			c.st.CancelRead(streamReset)
		}
		if fin {
			t := time.NewTimer(linger)
			select {
			case <-c.confirmed:
			case <-c.qc.Context().Done():
			case <-c.lingerCtx.Done():
			case <-t.C:
			}
			t.Stop()
		}
		code := codeReset
		if fin && eof {
			code = codeDone
		}
		c.qc.CloseWithError(code, "")
		c.ctrl.Wait()
		c.release()
	})
	return nil
}

// LocalAddr is our address on the path.
func (c *Conn) LocalAddr() net.Addr { return Addr{c.path.Local} }

// RemoteAddr is the peer's address on the path.
func (c *Conn) RemoteAddr() net.Addr { return Addr{c.path.Remote} }

// SetDeadline sets both deadlines of the stream.
func (c *Conn) SetDeadline(t time.Time) error { return c.st.SetDeadline(t) }

// SetReadDeadline sets the read deadline of the stream.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.st.SetReadDeadline(t) }

// SetWriteDeadline sets the write deadline of the stream.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.st.SetWriteDeadline(t) }

// mapErr turns QUIC's errors into the socket errors sockcat reports: a
// reset stream or connection is ECONNRESET, a vanished peer a timeout.
func mapErr(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	var se *quic.StreamError
	if errors.As(err, &se) && se.Remote {
		return &net.OpError{Op: "read", Net: "quic", Err: syscall.ECONNRESET}
	}
	var ae *quic.ApplicationError
	if errors.As(err, &ae) {
		if ae.ErrorCode == codeDone {
			return io.EOF
		}
		return &net.OpError{Op: "read", Net: "quic", Err: syscall.ECONNRESET}
	}
	var it *quic.IdleTimeoutError
	if errors.As(err, &it) {
		return fmt.Errorf("the peer stopped answering: %w", err)
	}
	return err
}
