package modes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/sockcat/sockcat/ioutil"
)

// --broker and --chat (SPEC §5): every client's bytes go to every other
// client and to stdout; stdin goes to every client. Each client has a writer
// of its own behind a bounded queue, and a relay never waits for it: when a
// queue is full the client has stopped reading, and it is dropped with a log
// line, so it never slows the others (select { case q <- b: default: drop }).
// Sockets have TCP_NODELAY, so a short line is relayed at once instead of
// waiting on Nagle's algorithm for the previous one to be acknowledged.
//
// A client that half-closes leaves: it receives what was already queued for
// it, then FIN. --chat is line mode on top: each line is prefixed with
// "<user@ADDR:PORT> ", control characters are stripped, and joins and leaves
// are announced. The broker runs until interrupted.

const (
	// brokerQueueBytes bounds the bytes waiting for one client; past it the
	// client is dropped. With 50 clients this keeps the worst case within a
	// few tens of MiB, and the usual case (clients that read) near zero.
	brokerQueueBytes = 512 << 10
	// brokerQueueChunks bounds the number of reads waiting for one client.
	brokerQueueChunks = 1024
	// brokerWritev bounds what one writev to a client carries.
	brokerWritev = 1 << 20
	// chatServerName prefixes the lines of stdin in --chat.
	chatServerName = "server"
)

// Broker relays every client's bytes to every other client (SPEC §5).
func Broker(ctx context.Context, cfg *Config, stdio Stdio) error {
	ln, err := listenStream(ctx, cfg)
	if err != nil {
		return err
	}
	defer ln.Close()
	if err := announce(cfg, stdio, ln.Addr()); err != nil {
		return err
	}
	f, err := newFilter(ctx, cfg)
	if err != nil {
		return err
	}
	if cfg.TLS.Enabled {
		if ln, err = tlsListener(cfg, stdio, ln); err != nil {
			return err
		}
	}
	v, err := openViews(ctx, cfg, stdio)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	b := &broker{
		cfg:   cfg,
		stdio: stdio,
		chat:  cfg.Serve.Chat,
		end:   cancel,
		out:   v.Out,
		pool:  newBufPool(cfg.Net.Buffer()),
	}
	b.list.Store(&[]*bclient{})
	start := time.Now()
	if !cfg.Stream.RecvOnly {
		go b.broadcastInput(ctx, v.In) // not joined: see serveKeepOpen
	}
	err = acceptLoop(ctx, cfg, ln, f, stdio, b.admit)
	cause := context.Cause(ctx)
	cancel(nil)
	ln.Close()
	b.closeAll()
	if cerr := v.Close(); err == nil {
		err = cerr
	}
	logf(cfg, stdio, "%s", summary(ioutil.Stats{Sent: b.sent.Load(), Received: b.received.Load()}, time.Since(start)))
	switch {
	case err != nil:
		return err
	case cause == nil, errors.Is(cause, errStdoutGone):
		return nil
	}
	return cause
}

// broker is the shared state of --broker/--chat.
type broker struct {
	cfg   *Config
	stdio Stdio
	chat  bool
	end   context.CancelCauseFunc
	pool  *bufPool

	outMu sync.Mutex // serialises writes to out: one relayed chunk per Write
	out   io.Writer

	list atomic.Pointer[[]*bclient] // the clients relays go to; copied on change

	mu     sync.Mutex // guards following, and changes of list
	unixNo int        // names Unix clients, which have no address
	closed bool

	wg       sync.WaitGroup
	sent     atomic.Int64 // bytes written to clients
	received atomic.Int64 // bytes read from clients
}

// bclient is one broker client.
type bclient struct {
	conn   net.Conn
	name   string // ADDR:PORT, for logs
	nick   string // --chat: user@ADDR:PORT
	q      chan []byte
	queued atomic.Int64  // bytes in q
	leave  chan struct{} // closed when the client half-closed: drain, then FIN
	gone   chan struct{} // closed when its I/O must stop
	once   sync.Once
	drops  atomic.Bool
}

func (c *bclient) kill() {
	c.once.Do(func() {
		close(c.gone)
		c.conn.SetDeadline(aLongTimeAgo)
	})
}

// send queues b for the client without ever waiting: a full queue means the
// client stopped reading, and it is dropped.
func (c *bclient) send(b *broker, p []byte) {
	if c.queued.Add(int64(len(p))) > brokerQueueBytes {
		b.drop(c)
		return
	}
	select {
	case c.q <- p:
	default:
		b.drop(c)
	}
}

// drop ends a client whose queue overflowed, with a log line.
func (b *broker) drop(c *bclient) {
	if !c.drops.CompareAndSwap(false, true) {
		return
	}
	warnf(b.stdio, "dropped %s: it stopped reading (over %s queued)", c.name, ioutil.FormatSize(brokerQueueBytes))
	c.kill()
}

// admit adds a client, or closes it at once at the -m cap.
func (b *broker) admit(conn net.Conn) {
	setNoDelay(conn)
	b.mu.Lock()
	old := *b.list.Load()
	if b.closed || len(old) >= maxConns(b.cfg) {
		b.mu.Unlock()
		logf(b.cfg, b.stdio, "refused connection from %s: %d clients connected (-m %d)", peerName(conn), len(old), maxConns(b.cfg))
		conn.Close()
		return
	}
	c := &bclient{
		conn:  conn,
		name:  peerName(conn),
		q:     make(chan []byte, brokerQueueChunks),
		leave: make(chan struct{}),
		gone:  make(chan struct{}),
	}
	c.nick = "user@" + c.name
	if _, ok := conn.RemoteAddr().(*net.UnixAddr); ok {
		b.unixNo++
		c.name = "unix client " + strconv.Itoa(b.unixNo)
		c.nick = "user@unix:" + strconv.Itoa(b.unixNo)
	}
	list := append(append(make([]*bclient, 0, len(old)+1), old...), c)
	b.list.Store(&list)
	b.wg.Add(1)
	b.mu.Unlock()

	logf(b.cfg, b.stdio, "connection from %s (%d connected)", c.name, len(list))
	if b.chat {
		c.send(b, fmt.Appendf(nil, "<announce> you are %s; %d connected\n", c.nick, len(list)))
		b.announce(c, fmt.Appendf(nil, "<announce> %s joined\n", c.nick))
	}
	go b.serveClient(c)
}

// remove takes c out of the relay list and reports how many remain.
func (b *broker) remove(c *bclient) (int, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	old := *b.list.Load()
	list := make([]*bclient, 0, len(old))
	found := false
	for _, x := range old {
		if x == c {
			found = true
			continue
		}
		list = append(list, x)
	}
	b.list.Store(&list)
	return len(list), found
}

// serveClient runs one client's reader here and its writer beside it.
func (b *broker) serveClient(c *bclient) {
	defer b.wg.Done()
	wrote := make(chan struct{})
	go b.writeClient(c, wrote)
	err := b.readClient(c)
	n, _ := b.remove(c)
	if err == nil {
		close(c.leave) // half-closed: send what is queued, then FIN
	} else {
		c.kill()
	}
	<-wrote
	c.kill()
	c.conn.Close()
	switch {
	case c.drops.Load():
		logf(b.cfg, b.stdio, "%s dropped (%d connected)", c.name, n)
	case err != nil && !errors.Is(err, errStdoutGone) && !isClosedErr(err):
		logf(b.cfg, b.stdio, "%s: %v (%d connected)", c.name, reason(err), n)
	default:
		logf(b.cfg, b.stdio, "%s disconnected (%d connected)", c.name, n)
	}
	if b.chat {
		what := "left"
		if c.drops.Load() {
			what = "was dropped (not reading)"
		}
		b.announce(c, fmt.Appendf(nil, "<announce> %s %s\n", c.nick, what))
	}
}

func isClosedErr(err error) bool {
	return errors.Is(err, net.ErrClosed) || isDeadlineErr(err)
}

func isDeadlineErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// readClient relays the client's bytes until EOF (nil) or an error.
func (b *broker) readClient(c *bclient) error {
	var lines lineSplitter
	prefix := []byte("<" + c.nick + "> ")
	maxLine := b.cfg.Net.Buffer()
	for {
		err := readPooled(c.conn, b.pool, func(p []byte) error {
			b.received.Add(int64(len(p)))
			var chunk []byte
			if b.chat {
				chunk = lines.feed(p, prefix, maxLine)
			} else {
				chunk = append([]byte(nil), p...) // shared by every receiver, never changed
			}
			return b.relay(c, chunk)
		})
		if err == io.EOF {
			if b.chat {
				if rest := lines.flush(prefix); len(rest) > 0 {
					return b.relay(c, rest)
				}
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// relay hands p to every client but from (nil: stdin) and writes it to
// stdout; in --chat stdin's own lines are not echoed to stdout.
func (b *broker) relay(from *bclient, p []byte) error {
	if len(p) == 0 {
		return nil
	}
	for _, c := range *b.list.Load() {
		if c != from {
			c.send(b, p)
		}
	}
	if from == nil || b.cfg.Stream.SendOnly {
		return nil
	}
	b.outMu.Lock()
	_, err := b.out.Write(p)
	b.outMu.Unlock()
	return stdoutError(b.end, err)
}

// announce sends a --chat announcement to everyone but c, and to stdout.
func (b *broker) announce(c *bclient, line []byte) {
	b.relay(c, line)
}

// writeClient writes the client's queue, several chunks per writev.
func (b *broker) writeClient(c *bclient, done chan<- struct{}) {
	defer close(done)
	var bufs net.Buffers
	leave := c.leave
	for {
		var p []byte
		select {
		case p = <-c.q:
		case <-leave:
			leave = nil
			select { // drain what was queued before it half-closed
			case p = <-c.q:
			default:
				ioutil.CloseWrite(c.conn)
				return
			}
		case <-c.gone:
			return
		}
		bufs = append(bufs[:0], p)
		bufs, _ = drainQueue(c.q, bufs, brokerWritev)
		var n int64
		for _, x := range bufs {
			n += int64(len(x))
		}
		w := bufs
		m, err := w.WriteTo(c.conn)
		clear(bufs)
		c.queued.Add(-n)
		b.sent.Add(m)
		if err != nil {
			c.kill()
			return
		}
		if leave == nil && len(c.q) == 0 {
			ioutil.CloseWrite(c.conn)
			return
		}
	}
}

// broadcastInput sends stdin to every client; unlike a relay it waits for a
// client's queue rather than dropping it, since stdin can wait.
func (b *broker) broadcastInput(ctx context.Context, in io.Reader) {
	buf := make([]byte, b.cfg.Net.Buffer())
	var lines lineSplitter
	prefix := []byte("<" + chatServerName + "> ")
	for {
		n, err := in.Read(buf)
		if n > 0 {
			var chunk []byte
			if b.chat {
				chunk = lines.feed(buf[:n], prefix, len(buf))
			} else {
				chunk = append([]byte(nil), buf[:n]...)
			}
			if len(chunk) > 0 {
				for _, c := range *b.list.Load() {
					c.queued.Add(int64(len(chunk)))
					select {
					case c.q <- chunk:
					case <-c.gone:
					case <-ctx.Done():
						return
					}
				}
			}
		}
		if err != nil {
			if err != io.EOF && ctx.Err() == nil {
				b.end(fmt.Errorf("read stdin: %w", err))
			}
			if b.chat {
				if rest := lines.flush(prefix); len(rest) > 0 {
					for _, c := range *b.list.Load() {
						c.send(b, rest)
					}
				}
			}
			return
		}
	}
}

// closeAll ends every client and waits for them.
func (b *broker) closeAll() {
	b.mu.Lock()
	b.closed = true
	for _, c := range *b.list.Load() {
		c.kill()
	}
	b.mu.Unlock()
	b.wg.Wait()
}

// setNoDelay turns Nagle's algorithm off on a TCP connection, also under TLS.
func setNoDelay(c net.Conn) {
	for {
		switch x := c.(type) {
		case *net.TCPConn:
			x.SetNoDelay(true)
			return
		case interface{ NetConn() net.Conn }:
			c = x.NetConn()
		default:
			return
		}
	}
}

// lineSplitter cuts a client's bytes into --chat lines.
type lineSplitter struct {
	partial []byte // bytes after the last newline
}

// feed returns the complete lines of p (and of what came before it), each
// prefixed, cleaned and ending in "\n". A line longer than maxLine is cut.
func (s *lineSplitter) feed(p, prefix []byte, maxLine int) []byte {
	var out []byte
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.partial = append(s.partial, p...)
			if len(s.partial) >= maxLine {
				out = appendChatLine(out, prefix, s.partial)
				s.partial = s.partial[:0]
			}
			break
		}
		line := p[:i]
		if len(s.partial) > 0 {
			line = append(s.partial, line...)
			s.partial = s.partial[:0]
		}
		out = appendChatLine(out, prefix, line)
		p = p[i+1:]
	}
	return out
}

// flush returns the last line when the stream ended without a newline.
func (s *lineSplitter) flush(prefix []byte) []byte {
	if len(s.partial) == 0 {
		return nil
	}
	out := appendChatLine(nil, prefix, s.partial)
	s.partial = nil
	return out
}

// appendChatLine appends prefix, line without control characters, and "\n".
// C0 controls but tab, DEL and C1 controls are removed (a chat line cannot
// move anyone's cursor or recolour their terminal); invalid UTF-8 becomes
// U+FFFD, since a lone 0x9b byte is CSI to some terminals.
func appendChatLine(out, prefix, line []byte) []byte {
	out = append(out, prefix...)
	for len(line) > 0 {
		r, size := utf8.DecodeRune(line)
		switch {
		case r == utf8.RuneError && size == 1:
			out = utf8.AppendRune(out, utf8.RuneError)
		case r < 0x20 && r != '\t', r >= 0x7f && r <= 0x9f:
		default:
			out = append(out, line[:size]...)
		}
		line = line[size:]
	}
	return append(out, '\n')
}
