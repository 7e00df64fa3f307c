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
	// use the zero-copy paths (views, wrapped connections, a pipe on
	// stdin); 0 means each path's default.
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

// emptyInputGrace is how long a peer that has sent nothing at all may stay
// silent before a connection whose local input ended empty sends its FIN.
// Many senders (OpenBSD `nc -N -l`, `ncat -l`) stop at the first FIN they
// see, so an empty stdin must not send one while a download may be under way
// (SPEC §3): a peer that has sent anything is a sender, and the FIN waits for
// its close (as OpenBSD nc without -N does), however long it pauses; a peer
// that sent nothing for this long is waiting for our end of input instead.
const emptyInputGrace = time.Second

// Pump copies local to conn and conn to out, both at once. At local EOF it
// half-closes conn (unless NoShutdown) and keeps reading until the peer
// closes. It returns once the peer has closed and all of local was sent, or
// when ctx ends, the quit-after time passes, or an error occurs.
//
// When local ends having sent nothing (stdin is /dev/null), the FIN is held:
// if the peer has sent nothing during a whole [emptyInputGrace] (it waits
// for our end of input) the FIN goes then; once the peer has sent anything,
// it is never sent, and the peer's own close ends the transfer. Where the
// kernel cannot say how much the peer has sent, the FIN goes at once.
//
// When ctx ends while local input remains unsent (it had not reached EOF
// and is not a terminal), conn is set to reset on close (SO_LINGER 0), so
// the peer cannot take the cut for the end of the data (SPEC §3). Stats
// count what was handed to the kernel up to the end, however Pump ends.
//
// local and out reach [io.Copy] unwrapped (unless IdleTimeout is set), so an
// *os.File and a *net.TCPConn keep Linux's sendfile and splice paths; a
// local that is neither a regular file nor a pipe (a terminal) is copied
// through a counting writer.
//
// A goroutine blocked reading local (a terminal, or a pipe with no writer
// activity) cannot be interrupted; when Pump returns early it is left behind
// and ends with the process.
func Pump(ctx context.Context, conn net.Conn, local io.Reader, out io.Writer, opt PumpOptions) (Stats, error) {
	p := &pump{conn: conn, opt: opt, upc: make(chan copyResult, 1), downc: make(chan copyResult, 1)}
	if opt.IdleTimeout > 0 {
		p.idle = &activity{}
		p.idle.touch()
		local = p.idle.reader(local)
		out = p.idle.writer(out)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(ALongTimeAgo) })
	defer stop()

	if opt.RecvOnly {
		p.upDone = true
	} else {
		f, ok := local.(*os.File)
		p.localRegular = ok && isRegular(f)
		p.upRunning = true
		go upload(p.upc, conn, local, countWriter{conn, &p.sent, &p.writing}, !opt.NoShutdown && !opt.SendOnly, opt.BufferSize)
	}
	go download(p.downc, conn, out, opt.SendOnly, opt.BufferSize)
	if p.idle != nil {
		t := time.NewTicker(idleCheck(opt.IdleTimeout))
		defer t.Stop()
		p.idleC = t.C
	}
	return p.run(ctx)
}

// pump is the state of one [Pump] call.
type pump struct {
	conn       net.Conn
	opt        PumpOptions
	upc, downc chan copyResult
	sent       atomic.Int64 // bytes handed to the kernel so far (counting paths)
	writing    atomic.Bool  // a counted write is under way
	idle       *activity
	idleC      <-chan time.Time
	quit, held <-chan time.Time

	st               Stats
	upRunning        bool // the upload goroutine has not reported yet
	localRegular     bool // local is a regular file: its copy never blocks on reading
	upDone, downDone bool
	downErr          error
}

// run waits for both directions and decides how the transfer ends.
func (p *pump) run(ctx context.Context) (Stats, error) {
	for {
		select {
		case up := <-p.upc:
			if end, err := p.uploaded(ctx, up); end {
				return p.finish(ctx, err)
			}
		case d := <-p.downc:
			if end, err := p.downloaded(ctx, d); end {
				return p.finish(ctx, err)
			}
		case <-p.held:
			p.heldFIN()
		case <-p.quit:
			return p.finish(ctx, nil)
		case <-p.idleC:
			if p.idle.since() >= p.opt.IdleTimeout {
				return p.finish(ctx, ErrIdle)
			}
		case <-ctx.Done():
			return p.finish(ctx, ctx.Err())
		}
	}
}

// heldFIN decides on the FIN held back after an empty input, a whole
// [emptyInputGrace] after that input ended: a peer that has sent nothing
// gets it now; a peer that has sent anything is a sender, and the transfer
// ends with its close (a pause in a download never cuts it short).
func (p *pump) heldFIN() {
	p.held = nil
	if n, ok := peerBytes(p.conn); ok && n > 0 {
		return
	}
	closeWrite(p.conn)
}

// uploaded handles the end of the send side; end reports that the pump
// is over, with err.
func (p *pump) uploaded(ctx context.Context, up copyResult) (end bool, err error) {
	p.upRunning, p.upDone = false, true
	p.st.Sent = up.n
	if up.err != nil {
		if ctx.Err() != nil {
			return true, ctx.Err()
		}
		return true, sendFailure(up.n, up.err)
	}
	p.st.SendDone = true
	if p.opt.SendOnly {
		if !p.opt.NoShutdown {
			closeWrite(p.conn)
		}
		return true, nil
	}
	if p.downDone {
		return true, p.downErr
	}
	if up.heldFIN {
		p.held = time.After(emptyInputGrace)
	}
	if p.opt.QuitAfter >= 0 {
		p.quit = time.After(p.opt.QuitAfter)
	}
	return false, nil
}

// downloaded handles the end of the receive side.
func (p *pump) downloaded(ctx context.Context, d copyResult) (end bool, err error) {
	p.downDone = true
	p.st.Received = d.n
	if d.err != nil {
		if ctx.Err() != nil {
			return true, ctx.Err()
		}
		if d.outErr {
			return true, ErrStdoutClosed
		}
		// A receive error (reset). An upload still running fails at once
		// on the same socket; its error says how much input was sent,
		// which is what the user needs to know.
		if p.upRunning {
			t := time.NewTimer(uploadGrace)
			defer t.Stop()
			select {
			case up := <-p.upc:
				p.upRunning = false
				p.st.Sent = up.n
				if up.err != nil {
					return true, sendFailure(up.n, up.err)
				}
			case <-t.C: // blocked reading local input
			}
		}
		return true, d.err
	}
	if p.upDone || p.opt.StopOnPeerEOF {
		return true, nil
	}
	return false, nil // the peer closed its side: keep sending the rest of local
}

// finish ends the pump early or late: it unblocks both directions, takes
// their final counts, and resets the connection when ctx ended with input
// unsent.
func (p *pump) finish(ctx context.Context, err error) (Stats, error) {
	if ctx.Err() != nil && p.upRunning && !p.opt.StopOnPeerEOF {
		resetOnClose(p.conn) // before the deadline can fail the upload into a FIN
	}
	p.conn.SetDeadline(ALongTimeAgo)
	if p.upRunning {
		p.st.Sent = p.finalSent()
	}
	if !p.downDone {
		d := <-p.downc // unblocked by the deadline
		p.downDone = true
		p.st.Received = d.n
	}
	return p.st, err
}

// finalSent is the count of a still running upload, once the deadline is
// set. The deadline ends a write at once and returns its count; an upload
// blocked reading local has written all it read, which the counting
// writer knows. A regular file never blocks reading, so its copy
// (sendfile, which counts only at the end) is waited for.
func (p *pump) finalSent() int64 {
	if p.localRegular {
		up := <-p.upc
		p.upRunning = false
		return up.n
	}
	if p.opt.StopOnPeerEOF { // a terminal: let a write that returned be counted
		deadline := time.Now().Add(uploadGrace)
		for p.writing.Load() && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		return p.sent.Load()
	}
	t := time.NewTimer(uploadGrace)
	defer t.Stop()
	select {
	case up := <-p.upc:
		p.upRunning = false
		return up.n
	case <-t.C:
		return p.sent.Load()
	}
}

type copyResult struct {
	n       int64
	err     error
	outErr  bool // the error came from writing out, not from reading conn
	heldFIN bool // local input was empty: upload left the write half open
}

// upload copies local to conn and then half-closes conn; when local was
// empty and the kernel can tell whether the peer has sent anything, it
// leaves the FIN to [Pump] (see [emptyInputGrace]). It is a named function
// so it is recognisable in goroutine dumps.
func upload(res chan<- copyResult, conn net.Conn, local io.Reader, cw countWriter, shutdown bool, size int) {
	n, handled, err := copyPipeBuffer(conn, local, size, cw.n) // a pipe on stdin: see splice_linux.go
	if !handled {
		f, isFile := local.(*os.File)
		switch {
		case isFile && isRegular(f):
			n, err = io.Copy(conn, local) // sendfile; a deadline returns the count so far
		case isFile:
			n, err = copyBuffer(cw, local, size) // a terminal or device
		default:
			// Views and test readers: tag their errors so an encoding
			// error is not blamed on the peer.
			n, err = copyBuffer(cw, inputReader{local}, size)
		}
	}
	held := false
	if err == nil && shutdown {
		if _, ok := peerBytes(conn); ok && n == 0 {
			held = true
		} else {
			err = closeWrite(conn)
		}
	}
	res <- copyResult{n: n, err: err, heldFIN: held}
}

func isRegular(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode().IsRegular()
}

// countWriter counts the bytes written through it, for the statistics of
// a transfer that ends while the copy is still running.
// busy is true from before a write until its count is added.
type countWriter struct {
	w    io.Writer
	n    *atomic.Int64
	busy *atomic.Bool
}

func (c countWriter) Write(p []byte) (int, error) {
	c.busy.Store(true)
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	c.busy.Store(false)
	return n, err
}

// resetOnClose makes the coming Close of conn send RST instead of FIN
// (SO_LINGER 0), through a TLS or proxy wrapper.
func resetOnClose(conn net.Conn) {
	for {
		switch c := conn.(type) {
		case interface{ SetLinger(int) error }:
			c.SetLinger(0)
			return
		case interface{ NetConn() net.Conn }:
			conn = c.NetConn()
		default:
			return
		}
	}
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
