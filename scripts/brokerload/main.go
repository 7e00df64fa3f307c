// Command brokerload is the load generator of scripts/bench-broker.sh: it
// drives a chat relay (sockcat --broker, ncat --broker) with many clients on
// loopback and measures how many lines it delivers, checking that none is
// lost, duplicated, reordered or echoed to its sender.
//
//	brokerload burst    -addr HOST:PORT [-clients 50] [-lines 1000]
//	brokerload lockstep -addr HOST:PORT [-clients 50] [-rounds 100]
//	brokerload idle     -addr HOST:PORT [-clients 1000] [-hold 5s]
//	brokerload freeport                                   (prints a free 127.0.0.1 port)
//	brokerload waitport -addr HOST:PORT                   (waits until it accepts)
//
// burst: every client writes all its lines at once while reading; the run
// ends when every client has every other client's lines. lockstep: in each
// round every client sends one line, and the round ends when every client
// has the other clients' lines of that round. Both print one line:
//
//	mode=burst clients=50 lines=2450000 secs=1.234 rate=1985413 lost=0 bad=0
//
// Before measuring, client 0 sends sync lines until every other client has
// received one, so every client is known to the relay when the clock starts.
// Every loop is bounded by -timeout, and a run in which no line arrived for
// -stall ends then (its rate counts up to the last line that arrived); the
// exit status is 1 when a line was lost or malformed.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	mode := os.Args[1]
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	addr := fs.String("addr", "", "relay address HOST:PORT")
	clients := fs.Int("clients", 50, "number of clients")
	lines := fs.Int("lines", 1000, "burst: lines per client")
	rounds := fs.Int("rounds", 100, "lockstep: rounds")
	timeout := fs.Duration("timeout", 120*time.Second, "bound on the whole run")
	stall := fs.Duration("stall", 3*time.Second, "give up when no line arrived for this long (lines lost)")
	hold := fs.Duration("hold", 5*time.Second, "idle: how long to hold the clients after \"ready\"")
	fs.Parse(os.Args[2:])

	var err error
	switch mode {
	case "burst", "lockstep":
		err = measure(mode, *addr, *clients, *lines, *rounds, *timeout, *stall)
	case "idle":
		err = idle(*addr, *clients, *hold, *timeout)
	case "freeport":
		err = freeport()
	case "waitport":
		err = waitport(*addr, *timeout)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "brokerload: %v\n", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: brokerload burst|lockstep|idle|freeport|waitport [-addr HOST:PORT] [flags]")
	os.Exit(2)
}

// Line kinds: S sync (from client 0 only), D burst data, L lockstep.
// A line is "K FFF SSSSS " plus padding to lineLen bytes with the newline:
// every line has the same length, a power of two, so that a relay's reads
// (of any power-of-two size, from writes of whole lines) end between lines.
// A byte relay cannot know lines: a read that ended inside one would splice
// another sender's bytes into it, and the check would count that as loss.
const lineLen = 32

func appendLine(b []byte, kind byte, from, seq int) []byte {
	start := len(b)
	b = fmt.Appendf(b, "%c %03d %05d ", kind, from, seq%100000)
	for len(b)-start < lineLen-1 {
		b = append(b, 'x')
	}
	return append(b, '\n')
}

// parseLine reads one fixed-width line "K FFF SSSSS xxx…\n" without
// allocating; a reader that checks millions of lines a second must not be
// what a benchmark measures.
func parseLine(l []byte) (kind byte, from, seq int, ok bool) {
	if len(l) != lineLen || l[1] != ' ' || l[5] != ' ' || l[11] != ' ' || l[lineLen-1] != '\n' {
		return 0, 0, 0, false
	}
	num := func(d []byte) (int, bool) {
		v := 0
		for _, c := range d {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	from, ok1 := num(l[2:5])
	seq, ok2 := num(l[6:11])
	return l[0], from, seq, ok1 && ok2
}

type client struct {
	id   int
	conn net.Conn

	synced atomic.Bool
	// burst: next expected seq from each sender; lockstep: lines per round.
	next     []int
	perRound []atomic.Int32
	got      atomic.Int64 // data lines received
	bad      atomic.Int64 // malformed, own, out of order or duplicated lines
	done     chan struct{}
	doneOnce sync.Once
	want     int64
	roundC   chan int // lockstep: a round this client completed
}

func dialAll(addr string, n int, deadline time.Time) ([]net.Conn, error) {
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.DialTimeout("tcp", addr, time.Until(deadline))
		if err != nil {
			closeAll(conns)
			return nil, fmt.Errorf("client %d: %w", i, err)
		}
		conns[i] = c
	}
	return conns, nil
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}

func measure(mode, addr string, n, lines, rounds int, timeout, stall time.Duration) error {
	if addr == "" || n < 2 {
		return errors.New("-addr and -clients >= 2 needed")
	}
	deadline := time.Now().Add(timeout)
	conns, err := dialAll(addr, n, deadline)
	if err != nil {
		return err
	}
	defer closeAll(conns)
	cs := make([]*client, n)
	for i, c := range conns {
		c.SetDeadline(deadline)
		cl := &client{id: i, conn: c, next: make([]int, n), done: make(chan struct{})}
		if mode == "burst" {
			cl.want = int64((n - 1) * lines)
		} else {
			cl.want = int64((n - 1) * rounds)
			cl.perRound = make([]atomic.Int32, rounds)
			cl.roundC = make(chan int, rounds)
		}
		cs[i] = cl
	}
	// stalled is closed when no line arrived for stall (some were lost);
	// last is when the last line arrived.
	stalled := make(chan struct{})
	var last atomic.Int64
	stopWatch := make(chan struct{})
	defer close(stopWatch)
	go func() {
		var seen int64
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stopWatch:
				return
			case now := <-t.C:
				var got int64
				for _, cl := range cs {
					got += cl.got.Load()
				}
				if got != seen || last.Load() == 0 {
					seen = got
					last.Store(now.UnixNano())
				} else if now.Sub(time.Unix(0, last.Load())) > stall || now.After(deadline) {
					close(stalled)
					return
				}
			}
		}
	}()
	var readers sync.WaitGroup
	for _, cl := range cs {
		readers.Add(1)
		go func() {
			defer readers.Done()
			cl.read(n)
		}()
	}

	// Sync: client 0 sends S lines until every other client has seen one.
	for seq := 0; ; seq++ {
		if _, err := conns[0].Write(appendLine(nil, 'S', 0, seq)); err != nil {
			return fmt.Errorf("sync: %w", err)
		}
		all := true
		for _, cl := range cs[1:] {
			all = all && cl.synced.Load()
		}
		if all {
			break
		}
		if time.Now().After(deadline) {
			return errors.New("sync: not every client reached in time")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // let the last sync lines drain

	var start time.Time
	var end time.Time
	switch mode {
	case "burst":
		bufs := make([][]byte, n)
		for i := range bufs {
			var b []byte
			for s := range lines {
				b = appendLine(b, 'D', i, s)
			}
			bufs[i] = b
		}
		var writers sync.WaitGroup
		gate := make(chan struct{})
		for i, c := range conns {
			writers.Add(1)
			go func() {
				defer writers.Done()
				<-gate
				if _, err := c.Write(bufs[i]); err != nil {
					fmt.Fprintf(os.Stderr, "brokerload: client %d: write: %v\n", i, err)
				}
			}()
		}
		start = time.Now()
		close(gate)
		end = waitDone(cs, stalled, &last)
		writers.Wait()
	case "lockstep":
		// One writer per client, told the round number; all write at once.
		var w sync.WaitGroup
		go1 := make([]chan int, n)
		for i, c := range conns {
			go1[i] = make(chan int, 1)
			go func() {
				var line []byte
				for r := range go1[i] {
					line = appendLine(line[:0], 'L', i, r)
					c.Write(line)
					w.Done()
				}
			}()
		}
		defer func() {
			for _, ch := range go1 {
				close(ch)
			}
		}()
		start = time.Now()
		for r := range rounds {
			w.Add(n)
			for _, ch := range go1 {
				ch <- r
			}
			w.Wait()
			ok := true
			for _, cl := range cs {
				select {
				case got := <-cl.roundC:
					if got != r {
						ok = false
					}
				case <-stalled:
					ok = false
				}
				if !ok {
					break
				}
			}
			if !ok {
				break
			}
		}
		end = time.Now()
		select {
		case <-stalled:
			end = time.Unix(0, last.Load())
		default:
		}
	}
	for _, c := range conns {
		c.Close()
	}
	readers.Wait()
	var got, bad, want int64
	for _, cl := range cs {
		got += cl.got.Load()
		bad += cl.bad.Load()
		want += cl.want
	}
	secs := end.Sub(start).Seconds()
	fmt.Printf("mode=%s clients=%d lines=%d secs=%.4f rate=%.0f lost=%d bad=%d\n",
		mode, n, got, secs, float64(got)/secs, want-got, bad)
	if got != want || bad != 0 {
		return fmt.Errorf("%d of %d lines delivered, %d bad", got, want, bad)
	}
	return nil
}

// waitDone waits until every client has all its lines, or the lines
// stopped coming; it returns when the last line arrived.
func waitDone(cs []*client, stalled <-chan struct{}, last *atomic.Int64) time.Time {
	for _, cl := range cs {
		select {
		case <-cl.done:
		case <-stalled:
			return time.Unix(0, last.Load())
		}
	}
	return time.Now()
}

// read checks every line the client receives until the connection ends.
// Lines have a fixed length, so whole buffers are checked in place.
func (cl *client) read(n int) {
	buf := make([]byte, 256<<10)
	have := 0
	for {
		m, err := cl.conn.Read(buf[have:])
		have += m
		whole := have - have%lineLen
		var got int64
		for off := 0; off < whole; off += lineLen {
			got += cl.check(buf[off:off+lineLen], n)
		}
		have = copy(buf, buf[whole:have])
		if got > 0 && cl.got.Add(got) == cl.want {
			cl.doneOnce.Do(func() { close(cl.done) })
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !os.IsTimeout(err) {
				fmt.Fprintf(os.Stderr, "brokerload: client %d: %v\n", cl.id, err)
			}
			return
		}
	}
}

// check checks one line and returns 1 if it is a data line to count.
func (cl *client) check(l []byte, n int) int64 {
	kind, from, seq, ok := parseLine(l)
	if !ok || from >= n || from == cl.id {
		cl.bad.Add(1)
		return 0
	}
	switch kind {
	case 'S':
		cl.synced.Store(true)
		return 0
	case 'D':
		if seq != cl.next[from]%100000 {
			cl.bad.Add(1)
		}
		cl.next[from]++
		return 1
	case 'L':
		if seq >= len(cl.perRound) {
			cl.bad.Add(1)
			return 0
		}
		if c := cl.perRound[seq].Add(1); c == int32(n-1) {
			cl.got.Add(1) // counted before the round is reported
			cl.roundC <- seq
			return 0
		} else if c > int32(n-1) {
			cl.bad.Add(1)
		}
		return 1
	}
	cl.bad.Add(1)
	return 0
}

// idle connects n clients, prints "ready N" (N: the clients still open after
// a moment, so ones refused by -m are not counted) and holds them for hold.
func idle(addr string, n int, hold, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	conns, err := dialAll(addr, n, deadline)
	if err != nil {
		return err
	}
	defer closeAll(conns)
	// A client the server refused (-m) reads EOF at once: count them.
	time.Sleep(200 * time.Millisecond)
	open := 0
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); os.IsTimeout(err) {
			open++
		}
		c.SetReadDeadline(time.Time{})
	}
	fmt.Printf("ready %d\n", open)
	time.Sleep(hold)
	if open != n {
		return fmt.Errorf("only %d of %d clients held open", open, n)
	}
	return nil
}

func freeport() error {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	return nil
}

func waitport(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}
