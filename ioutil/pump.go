package ioutil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

// aLongTimeAgo, used as a deadline, unblocks pending I/O at once (as package
// net does internally).
var aLongTimeAgo = time.Unix(1, 0)

// uploadGrace is how long Pump waits, after the receive side failed, for the
// send side to report its own failure on the same broken socket.
const uploadGrace = 250 * time.Millisecond

// ErrIdle reports that nothing moved in either direction for the idle timeout.
var ErrIdle = errors.New("idle timeout")

// ErrStdoutClosed reports that the local reader of received data went away
// (EPIPE on stdout, as in `sockcat host port | head -c 10`). Callers treat it
// as a quiet, normal end.
var ErrStdoutClosed = errors.New("output closed by reader")

// PumpOptions tunes [Pump]. The zero value half-closes at local EOF and waits
// for the peer forever.
type PumpOptions struct {
	// NoShutdown keeps the write half open at local EOF instead of sending FIN.
	NoShutdown bool
	// SendOnly stops after the local input is sent; received data is ignored.
	SendOnly bool
	// RecvOnly never reads the local input.
	RecvOnly bool
	// QuitAfter, when >= 0, ends the pump that long after local EOF even if
	// the peer has not closed. A negative value waits for the peer.
	QuitAfter time.Duration
	// StopOnPeerEOF ends the pump when the peer closes even though local input
	// may remain; used when stdin is a terminal.
	StopOnPeerEOF bool
	// IdleTimeout, when > 0, ends the pump with [ErrIdle] once nothing has
	// moved either way for that long. It wraps both directions, so the
	// zero-copy paths are lost while it is set.
	IdleTimeout time.Duration
	// BufferSize, when > 0, is the buffer of the copy loops that cannot
	// use the zero-copy paths (views, wrapped connections); 0 means
	// io.Copy's 32 KiB.
	BufferSize int
}

// Stats counts what a pump moved.
type Stats struct {
	Sent     int64 // bytes handed to the kernel for the peer
	Received int64 // bytes read from the peer and written out
	// SendDone reports that local input was read to EOF and all of it sent.
	SendDone bool
}

// SendError reports input that could not be sent: the peer reset or closed
// while local input remained.
type SendError struct {
	Sent int64 // bytes handed to the kernel before the failure
	Err  error
}

func (e *SendError) Error() string {
	return fmt.Sprintf("%v after %d bytes sent; input remains unsent", e.Err, e.Sent)
}

func (e *SendError) Unwrap() error { return e.Err }

// InputError reports local input that could not be read or converted (an
// encoding error, bad hex digits, a failing stdin): the transfer stopped
// there, after Sent bytes had been sent.
type InputError struct {
	Sent int64
	Err  error
}

func (e *InputError) Error() string {
	return fmt.Sprintf("%v (%d bytes were sent before it; the rest was not sent)", e.Err, e.Sent)
}

func (e *InputError) Unwrap() error { return e.Err }

// sendFailure classifies an upload error: one tagged by inputReader came
// from reading or converting the local input; the rest from the connection.
func sendFailure(n int64, err error) error {
	var re inputReadError
	if errors.As(err, &re) {
		return &InputError{Sent: n, Err: re.err}
	}
	return &SendError{Sent: n, Err: err}
}

// inputReader marks the errors of the local reader.
type inputReader struct{ r io.Reader }

func (r inputReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		err = inputReadError{err}
	}
	return n, err
}

type inputReadError struct{ err error }

func (e inputReadError) Error() string { return e.err.Error() }
func (e inputReadError) Unwrap() error { return e.err }

// Pump copies local to conn and conn to out, both at once. At local EOF it
// half-closes conn (unless NoShutdown) and keeps reading until the peer
// closes. It returns once the peer has closed and all of local was sent, or
// when ctx ends, the quit-after time passes, or an error occurs.
//
// local and out reach [io.Copy] unwrapped (unless IdleTimeout is set), so an
// *os.File and a *net.TCPConn keep Linux's splice and sendfile paths.
//
// A goroutine blocked reading local (a terminal, or a pipe with no writer
// activity) cannot be interrupted; when Pump returns early it is left behind
// and ends with the process.
func Pump(ctx context.Context, conn net.Conn, local io.Reader, out io.Writer, opt PumpOptions) (Stats, error) {
	var idle *activity
	if opt.IdleTimeout > 0 {
		idle = &activity{}
		idle.touch()
		local = idle.reader(local)
		out = idle.writer(out)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(aLongTimeAgo) })
	defer stop()

	upc := make(chan copyResult, 1)
	downc := make(chan copyResult, 1)
	if opt.RecvOnly {
		upc <- copyResult{}
		close(upc)
		upc = nil // never sends: the receive side decides the end
	} else {
		go upload(upc, conn, local, !opt.NoShutdown && !opt.SendOnly, opt.BufferSize)
	}
	go download(downc, conn, out, opt.SendOnly, opt.BufferSize)

	var st Stats
	var quit, idleC <-chan time.Time
	var idleT *time.Ticker
	if idle != nil {
		idleT = time.NewTicker(idleCheck(opt.IdleTimeout))
		defer idleT.Stop()
		idleC = idleT.C
	}
	upDone, downDone := opt.RecvOnly, false
	var downErr error
	finish := func(err error) (Stats, error) {
		conn.SetDeadline(aLongTimeAgo)
		if !downDone {
			d := <-downc // unblocked by the deadline
			st.Received = d.n
		}
		return st, err
	}
	for {
		select {
		case up := <-upc:
			upDone = true
			upc = nil
			st.Sent = up.n
			if up.err != nil {
				if ctx.Err() != nil {
					return finish(ctx.Err())
				}
				return finish(sendFailure(up.n, up.err))
			}
			st.SendDone = true
			if opt.SendOnly {
				if !opt.NoShutdown {
					closeWrite(conn)
				}
				return finish(nil)
			}
			if downDone {
				return st, downErr
			}
			if opt.QuitAfter >= 0 {
				quit = time.After(opt.QuitAfter)
			}
		case d := <-downc:
			downDone = true
			st.Received = d.n
			if d.err != nil {
				if ctx.Err() != nil {
					return finish(ctx.Err())
				}
				if d.outErr {
					return finish(ErrStdoutClosed)
				}
				// A receive error (reset). An upload still running fails
				// at once on the same socket; its error says how much input
				// was sent, which is what the user needs to know.
				if !upDone {
					t := time.NewTimer(uploadGrace)
					select {
					case up := <-upc:
						t.Stop()
						st.Sent = up.n
						if up.err != nil {
							return finish(sendFailure(up.n, up.err))
						}
					case <-t.C: // blocked reading local input
					}
				}
				return finish(d.err)
			}
			if upDone {
				return st, nil
			}
			if opt.StopOnPeerEOF {
				return finish(nil)
			}
			// The peer closed its side: keep sending the rest of local.
		case <-quit:
			return finish(nil)
		case <-idleC:
			if idle.since() >= opt.IdleTimeout {
				return finish(ErrIdle)
			}
		case <-ctx.Done():
			return finish(ctx.Err())
		}
	}
}

type copyResult struct {
	n      int64
	err    error
	outErr bool // the error came from writing out, not from reading conn
}

// upload copies local to conn and then half-closes conn. It is a named
// function so it is recognisable in goroutine dumps.
func upload(res chan<- copyResult, conn net.Conn, local io.Reader, shutdown bool, size int) {
	n, handled, err := copyPipe(conn, local) // a pipe on stdin: see splice_linux.go
	if !handled {
		if _, isFile := local.(*os.File); !isFile {
			// Views and test readers: tag their errors so an encoding
			// error is not blamed on the peer. A file is left unwrapped to
			// keep sendfile and splice.
			local = inputReader{local}
		}
		n, err = copyBuffer(conn, local, size)
	}
	if err == nil && shutdown {
		err = closeWrite(conn)
	}
	res <- copyResult{n: n, err: err}
}

// download copies conn to out. With discard, received bytes are dropped.
// EPIPE can only come from out (a socket read never reports it), which is how
// a closed stdout is told from a reset peer without wrapping out and losing
// splice.
func download(res chan<- copyResult, conn net.Conn, out io.Writer, discard bool, size int) {
	if discard {
		out = io.Discard
	}
	n, err := copyBuffer(out, conn, size)
	res <- copyResult{n: n, err: err, outErr: err != nil && isEPIPE(err)}
}

// copyBuffer is io.Copy with a size-byte buffer when size > 0 (-B). A file
// on either side keeps io.Copy's zero-copy paths (sendfile, splice);
// otherwise the buffer is used even between types whose ReadFrom or WriteTo
// would copy through a fixed 32 KiB one.
func copyBuffer(dst io.Writer, src io.Reader, size int) (int64, error) {
	_, srcFile := src.(*os.File)
	_, dstFile := dst.(*os.File)
	if size <= 0 || srcFile || dstFile {
		return io.Copy(dst, src)
	}
	return io.CopyBuffer(writerOnly{dst}, readerOnly{src}, make([]byte, size))
}

// writerOnly and readerOnly hide ReadFrom and WriteTo from io.CopyBuffer.
type (
	writerOnly struct{ io.Writer }
	readerOnly struct{ io.Reader }
)

// closeWriter is implemented by *net.TCPConn, *net.UnixConn and *tls.Conn.
type closeWriter interface{ CloseWrite() error }

// closeWrite half-closes conn when it supports it; a no-op otherwise (UDP).
func closeWrite(conn net.Conn) error {
	if cw, ok := conn.(closeWriter); ok {
		if err := cw.CloseWrite(); err != nil && !errors.Is(err, syscall.ENOTCONN) {
			return err
		}
	}
	return nil
}

// CloseWrite half-closes conn when it supports it and ignores "not
// connected" (the peer already went away); a no-op for UDP.
func CloseWrite(conn net.Conn) error { return closeWrite(conn) }

func isEPIPE(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, os.ErrClosed)
}

// activity records the time of the last byte moved either way.
type activity struct{ last atomic.Int64 }

func (a *activity) touch()                       { a.last.Store(time.Now().UnixNano()) }
func (a *activity) since() time.Duration         { return time.Since(time.Unix(0, a.last.Load())) }
func (a *activity) reader(r io.Reader) io.Reader { return &activeReader{r, a} }
func (a *activity) writer(w io.Writer) io.Writer { return &activeWriter{w, a} }

type activeReader struct {
	r io.Reader
	a *activity
}

func (r *activeReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.a.touch()
	}
	return n, err
}

type activeWriter struct {
	w io.Writer
	a *activity
}

func (w *activeWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	if n > 0 {
		w.a.touch()
	}
	return n, err
}

// idleCheck is how often the idle timer looks at the last activity.
func idleCheck(d time.Duration) time.Duration {
	if c := d / 10; c > 10*time.Millisecond {
		return c
	}
	return 10 * time.Millisecond
}
