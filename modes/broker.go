package modes

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/sockcat/sockcat/ioutil"
)

// --broker and --chat (SPEC §5): every client's bytes go to every other
// client and to stdout; stdin goes to every client. Each client has a writer
// of its own behind a bounded queue, and a relay never waits for it
// (select { case q <- b: default: drop }).
//
// Flow control. A sender is read only as fast as the fastest of the other
// clients takes its bytes: while every other client has more than
// brokerHighWater queued, the sender's socket is not read, and TCP holds the
// sender back. A client that falls more than brokerLag behind the fastest
// one holds the senders back for at most brokerGrace, the time a live
// program needs to be scheduled again and catch up; if it is still that far
// behind then, it is slow or stuck and is dropped with a log line, so it
// slows the others by brokerGrace at most, once. One that falls
// brokerHardLag behind is dropped at once. When every other client is
// backlogged (a single peer, or all of them stuck), one that takes nothing
// for brokerStall is dropped too.
//
// Sockets have TCP_NODELAY, so a short line is relayed at once instead of
// waiting on Nagle's algorithm for the previous one to be acknowledged.
//
// A client that half-closes leaves: it receives what was already queued for
// it, then FIN. --chat is line mode on top: each line is prefixed with
// "<user@ADDR:PORT> ", control characters are stripped, and joins and leaves
// are announced. The broker runs until interrupted.

const (
	// brokerHighWater: a sender is not read while every other client has
	// more than this queued.
	brokerHighWater = 256 << 10
	// brokerLag: a client with this much more queued than the fastest
	// other client has brokerGrace to catch up, while senders wait, or is
	// dropped. Queues are bounded by about brokerLag + clients × buffer
	// size, and the chunks in them are shared, so the memory they hold is
	// about that once, not once per client.
	brokerLag = 2 << 20
	// brokerHardLag: a client this far behind the fastest is dropped at once.
	brokerHardLag = 8 << 20
	// brokerGrace: how long a client more than brokerLag behind may hold
	// the senders back.
	brokerGrace = 250 * time.Millisecond
	// brokerCheck: how often waiting senders look at the clients they wait
	// for.
	brokerCheck = 50 * time.Millisecond
	// brokerStall: when every other client is backlogged, one that has
	// taken no byte for this long is dropped.
	brokerStall = 2 * time.Second
	// brokerDirectMin: a chunk at least this long is written straight to a
	// client with nothing queued, from the sender's goroutine; shorter ones
	// (lines) are queued so that the client's writer sends many in one
	// writev. Bulk data then never waits for a writer to be scheduled, and
	// 50 chat clients cost about one write each per round of lines, not 49.
	brokerDirectMin = 4 << 10
	// brokerCoalesce: how many times a writer yields to let the senders
	// queue more before its writev, as long as each yield brought more.
	brokerCoalesce = 8
	// brokerQueueChunks bounds the number of reads waiting for one client.
	brokerQueueChunks = 1024
	// brokerWritev bounds what one writev to a client carries.
	brokerWritev = 1 << 20
	// chatServerName prefixes the lines of stdin in --chat.
	chatServerName = "server"
)

// serveBroker relays every client's bytes to every other client (SPEC §5),
// each session a member of the relay.
func serveBroker(ctx context.Context, cfg *Config, stdio Stdio, ln net.Listener, f *filter) error {
	v, err := openViews(ctx, cfg, stdio)
	if err != nil {
		return err
	}
	if err := announce(cfg, stdio, ln.Addr()); err != nil {
		v.Close()
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
	b.wake = make(chan struct{})
	start := time.Now()
	if !cfg.Stream.RecvOnly {
		go b.broadcastInput(ctx, v.In) // not joined: see serveKeepOpen
	}
	err = newCore(cfg, stdio, ln, f, b.session).serve(ctx) // every session has ended
	cause := context.Cause(ctx)
	if cerr := v.Close(); err == nil {
		err = cerr
	}
	end := serverEnd(err, cause, false)
	report(cfg, stdio, v, nil, ioutil.Stats{Sent: b.sent.Load(), Received: b.received.Load()}, time.Since(start), end) // -v summary, --sha256, --stats-json
	return end
}

// testOnlyPortableBroker makes the broker use its portable path (every
// chunk through the client's queue and writer) on Linux too, so the tests
// cover the fallback of other platforms.
var testOnlyPortableBroker bool

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

	wakeMu sync.Mutex    // guards wake
	wake   chan struct{} // closed (and replaced) when a queue falls below brokerHighWater

	mu     sync.Mutex // guards following, and changes of list
	unixNo int        // names Unix clients, which have no address

	sent     atomic.Int64 // bytes written to clients
	received atomic.Int64 // bytes read from clients
}

// bclient is one broker client.
type bclient struct {
	conn   net.Conn
	raw    syscall.RawConn // for writes that never wait; nil when not a socket (TLS)
	mu     sync.Mutex      // held by a sender while it writes directly or queues
	name   string          // ADDR:PORT, for logs
	nick   string          // --chat: user@ADDR:PORT
	q      chan []byte
	queued atomic.Int64  // bytes in q
	moved  atomic.Int64  // unix nanoseconds of the last write to it
	behind atomic.Int64  // unix nanoseconds since it is more than brokerLag behind (0: it is not)
	leave  chan struct{} // closed when the client half-closed: drain, then FIN
	gone   chan struct{} // closed when its I/O must stop
	once   sync.Once
	drops  atomic.Bool
	sent   atomic.Int64 // bytes written to it
	recvd  atomic.Int64 // bytes read from it
}

func (c *bclient) kill() {
	c.once.Do(func() {
		close(c.gone)
		c.conn.SetDeadline(ioutil.ALongTimeAgo)
	})
}

// send hands p to the client without ever waiting: a long chunk, when
// nothing is queued for it, straight to its socket as far as the socket takes
// it at once (brokerDirectMin); the rest goes to its queue.
// floor is the queue of the fastest receiver: a client more than
// brokerHardLag behind it, or with a full queue, is dropped.
func (c *bclient) send(b *broker, p []byte, floor int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.raw != nil && c.queued.Load() == 0 && len(p) >= brokerDirectMin {
		n, err := c.writeNow(p)
		if n > 0 {
			b.sent.Add(int64(n))
			c.sent.Add(int64(n))
			c.moved.Store(time.Now().UnixNano())
		}
		if err != nil {
			c.kill()
			return
		}
		if p = p[n:]; len(p) == 0 {
			return
		}
	}
	if q := c.queued.Add(int64(len(p))); q-floor > brokerHardLag {
		b.drop(c, fmt.Sprintf("%s behind the fastest client", ioutil.FormatSize(q-floor)))
		return
	}
	select {
	case c.q <- p:
	default:
		b.drop(c, fmt.Sprintf("%d writes queued", cap(c.q)))
	}
}

// drop ends a slow or stuck client, with a log line.
func (b *broker) drop(c *bclient, why string) {
	if !c.drops.CompareAndSwap(false, true) {
		return
	}
	warnf(b.stdio, "dropped %s: it stopped reading (%s)", c.name, why)
	c.kill()
	b.signal()
}

// signal wakes the senders waiting in pace.
func (b *broker) signal() {
	b.wakeMu.Lock()
	close(b.wake)
	b.wake = make(chan struct{})
	b.wakeMu.Unlock()
}

func (b *broker) waiter() <-chan struct{} {
	b.wakeMu.Lock()
	defer b.wakeMu.Unlock()
	return b.wake
}

// floor returns the smallest queue among the clients other than from that
// are still served (0 when there are none).
func floor(list []*bclient, from *bclient) int64 {
	m := int64(-1)
	for _, c := range list {
		if c == from || c.drops.Load() {
			continue
		}
		if q := c.queued.Load(); m < 0 || q < m {
			m = q
		}
	}
	return max(m, 0)
}

// pace waits before c is read again, so that c is read only as fast as the
// fastest of the other clients takes its bytes: while every other client has
// more than brokerHighWater queued, or while one of them, more than brokerLag
// behind the fastest, is in its brokerGrace. While it waits, it drops a
// client whose grace has run out, and a backlogged client that has taken
// nothing for brokerStall.
func (b *broker) pace(c *bclient) error {
	var t *time.Timer
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	for {
		wake := b.waiter()
		if !b.mustWait(c) {
			return nil
		}
		if t == nil {
			t = time.NewTimer(brokerCheck)
		}
		select {
		case <-wake:
		case <-c.gone:
			return net.ErrClosed
		case <-t.C:
			t.Reset(brokerCheck)
			for _, x := range *b.list.Load() {
				idle := time.Since(time.Unix(0, x.moved.Load()))
				if x != c && x.queued.Load() > brokerHighWater && idle >= brokerStall {
					b.drop(x, fmt.Sprintf("nothing taken for %v", idle.Round(time.Millisecond)))
				}
			}
		}
	}
}

// mustWait tells whether sender c must wait, and drops the clients whose
// grace ran out.
func (b *broker) mustWait(c *bclient) bool {
	list := *b.list.Load()
	low, high := int64(-1), int64(0)
	for _, x := range list {
		if x == c || x.drops.Load() {
			continue
		}
		q := x.queued.Load()
		if low < 0 || q < low {
			low = q
		}
		high = max(high, q)
	}
	if high-max(low, 0) <= brokerLag { // the usual case: nobody far behind
		return low > brokerHighWater
	}
	wait := low > brokerHighWater
	now := time.Now().UnixNano()
	for _, x := range list {
		if x == c || x.drops.Load() {
			continue
		}
		lag := x.queued.Load() - low
		if lag <= brokerLag {
			x.behind.Store(0)
			continue
		}
		since := x.behind.Load()
		if since == 0 {
			x.behind.CompareAndSwap(0, now)
			since = x.behind.Load()
		}
		// Behind but still taking bytes: the senders wait for it. Dropped
		// only when it has stopped making progress.
		if idle := time.Duration(now - x.moved.Load()); time.Duration(now-since) >= brokerGrace && idle >= brokerStall {
			b.drop(x, fmt.Sprintf("%s behind the fastest client and nothing taken for %v", ioutil.FormatSize(lag), idle.Round(time.Millisecond)))
			continue
		}
		wait = true
	}
	return wait
}

// session runs one admitted client: its reader here, its writer beside it.
func (b *broker) session(_ context.Context, conn net.Conn) (ioutil.Stats, error) {
	setNoDelay(conn)
	c := &bclient{
		conn:  conn,
		name:  peerName(conn),
		q:     make(chan []byte, brokerQueueChunks),
		leave: make(chan struct{}),
		gone:  make(chan struct{}),
	}
	c.nick = "user@" + c.name
	c.moved.Store(time.Now().UnixNano())
	if sc, ok := conn.(syscall.Conn); ok && directWrites && !testOnlyPortableBroker {
		c.raw, _ = sc.SyscallConn()
	}
	b.mu.Lock()
	if _, ok := conn.RemoteAddr().(*net.UnixAddr); ok {
		b.unixNo++
		c.name = "unix client " + strconv.Itoa(b.unixNo)
		c.nick = "user@unix:" + strconv.Itoa(b.unixNo)
	}
	old := *b.list.Load()
	list := append(append(make([]*bclient, 0, len(old)+1), old...), c)
	b.list.Store(&list)
	b.mu.Unlock()
	if b.chat {
		c.send(b, fmt.Appendf(nil, "<announce> you are %s; %d connected\n", c.nick, len(list)), 0)
		b.announce(c, fmt.Appendf(nil, "<announce> %s joined\n", c.nick))
	}

	wrote := make(chan struct{})
	go b.writeClient(c, wrote)
	err := b.readClient(c)
	b.remove(c)
	if err == nil {
		close(c.leave) // half-closed: send what is queued, then FIN
		t := time.NewTimer(brokerStall)
		select { // a leaver that does not take its queue is not waited on
		case <-wrote:
		case <-t.C:
		}
		t.Stop()
	}
	c.kill()
	<-wrote
	if b.chat {
		what := "left"
		if c.drops.Load() {
			what = "was dropped (not reading)"
		}
		b.announce(c, fmt.Appendf(nil, "<announce> %s %s\n", c.nick, what))
	}
	st := ioutil.Stats{Sent: c.sent.Load(), Received: c.recvd.Load()}
	if c.drops.Load() {
		return st, errDropped
	}
	return st, err
}

// remove takes c out of the relay list.
func (b *broker) remove(c *bclient) {
	b.mu.Lock()
	defer b.mu.Unlock()
	old := *b.list.Load()
	list := make([]*bclient, 0, len(old))
	for _, x := range old {
		if x != c {
			list = append(list, x)
		}
	}
	b.list.Store(&list)
	b.signal() // the floor may have risen
}

// readClient relays the client's bytes until EOF (nil) or an error.
func (b *broker) readClient(c *bclient) error {
	var lines lineSplitter
	prefix := []byte("<" + c.nick + "> ")
	maxLine := b.cfg.Net.Buffer()
	for {
		if err := b.pace(c); err != nil {
			return err
		}
		err := readPooled(c.conn, b.pool, func(p []byte) error {
			b.received.Add(int64(len(p)))
			c.recvd.Add(int64(len(p)))
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
	list := *b.list.Load()
	low := floor(list, from)
	for _, c := range list {
		if c != from && !c.drops.Load() {
			c.send(b, p, low)
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
		for range brokerCoalesce {
			before := len(bufs)
			runtime.Gosched()
			bufs, _ = drainQueue(c.q, bufs, brokerWritev)
			if len(bufs) == before {
				break
			}
		}
		var n int64
		for _, x := range bufs {
			n += int64(len(x))
		}
		w := bufs
		m, err := w.WriteTo(c.conn)
		clear(bufs)
		c.moved.Store(time.Now().UnixNano())
		if q := c.queued.Add(-n); q <= brokerHighWater && q+n > brokerHighWater {
			b.signal()
		}
		b.sent.Add(m)
		c.sent.Add(m)
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
			for _, c := range *b.list.Load() {
				if len(chunk) == 0 || !b.room(ctx, c) {
					continue
				}
				c.send(b, chunk, c.queued.Load()) // its own floor: stdin never drops a client
			}
			if ctx.Err() != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF && ctx.Err() == nil {
				b.end(fmt.Errorf("read stdin: %w", err))
			}
			if b.chat {
				if rest := lines.flush(prefix); len(rest) > 0 {
					for _, c := range *b.list.Load() {
						c.send(b, rest, c.queued.Load())
					}
				}
			}
			return
		}
	}
}

// room waits until c has no more than brokerHighWater queued; false if c
// or the broker ended first.
func (b *broker) room(ctx context.Context, c *bclient) bool {
	for {
		wake := b.waiter()
		if c.queued.Load() <= brokerHighWater {
			return true
		}
		select {
		case <-wake:
		case <-c.gone:
			return false
		case <-ctx.Done():
			return false
		}
	}
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
