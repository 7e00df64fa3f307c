package ioutil

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ln, err = net.Listen("tcp", "[::1]:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			acc <- nil
			return
		}
		acc <- c
	}()
	c, err := net.Dial(ln.Addr().Network(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-acc
	if s == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

func randBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed+1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func noQuit() PumpOptions { return PumpOptions{QuitAfter: -1} }

type pumpResult struct {
	st  Stats
	err error
}

func goPump(ctx context.Context, conn net.Conn, local io.Reader, out io.Writer, opt PumpOptions) <-chan pumpResult {
	ch := make(chan pumpResult, 1)
	go func() {
		st, err := Pump(ctx, conn, local, out, opt)
		ch <- pumpResult{st, err}
	}()
	return ch
}

func waitPump(t *testing.T, ch <-chan pumpResult) pumpResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("pump did not return within 20s")
		return pumpResult{}
	}
}

// TestPumpHalfClose: local EOF sends FIN; the peer answers after reading
// everything, and the answer still arrives whole.
func TestPumpHalfClose(t *testing.T) {
	c, s := tcpPair(t)
	up := randBytes(3<<20+17, 1)
	down := randBytes(2<<20+5, 2)
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(s) // until the pump's FIN
		s.Write(down)
		s.Close()
		got <- b
	}()
	var out bytes.Buffer
	r := waitPump(t, goPump(context.Background(), c, bytes.NewReader(up), &out, noQuit()))
	if r.err != nil {
		t.Fatalf("Pump: %v", r.err)
	}
	if g := <-got; sha256.Sum256(g) != sha256.Sum256(up) {
		t.Errorf("peer got %d bytes, want %d (sha256 differs)", len(g), len(up))
	}
	if sha256.Sum256(out.Bytes()) != sha256.Sum256(down) {
		t.Errorf("out got %d bytes, want %d (sha256 differs)", out.Len(), len(down))
	}
	if r.st.Sent != int64(len(up)) || r.st.Received != int64(len(down)) || !r.st.SendDone {
		t.Errorf("stats = %+v, want sent %d received %d done", r.st, len(up), len(down))
	}
}

// TestBufferedClose: the peer writes and closes at once; every byte still
// arrives (as in tcpproxy's test of the same name).
func TestBufferedClose(t *testing.T) {
	c, s := tcpPair(t)
	down := randBytes(1<<20, 3)
	go func() {
		s.Write(down)
		s.Close()
	}()
	var out bytes.Buffer
	r := waitPump(t, goPump(context.Background(), c, bytes.NewReader(nil), &out, noQuit()))
	if r.err != nil {
		t.Fatalf("Pump: %v", r.err)
	}
	if !bytes.Equal(out.Bytes(), down) {
		t.Errorf("got %d bytes, want %d", out.Len(), len(down))
	}
}

// TestPumpPeerClosesFirst: the peer half-closes before local EOF; piped
// input is still sent to the end.
func TestPumpPeerClosesFirst(t *testing.T) {
	c, s := tcpPair(t)
	up := randBytes(8<<20, 4)
	s.Write([]byte("early"))
	s.CloseWrite()
	got := make(chan []byte, 1)
	go func() {
		var b bytes.Buffer
		buf := make([]byte, 4096)
		for { // a slow reader
			n, err := s.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		got <- b.Bytes()
	}()
	var out bytes.Buffer
	r := waitPump(t, goPump(context.Background(), c, bytes.NewReader(up), &out, noQuit()))
	if r.err != nil {
		t.Fatalf("Pump: %v", r.err)
	}
	if g := <-got; sha256.Sum256(g) != sha256.Sum256(up) {
		t.Errorf("peer got %d bytes, want %d", len(g), len(up))
	}
	if out.String() != "early" {
		t.Errorf("out = %q, want %q", out.String(), "early")
	}
}

// TestPumpReset: the peer resets mid-transfer; Pump reports a SendError
// with the bytes sent so far, never success.
func TestPumpReset(t *testing.T) {
	c, s := tcpPair(t)
	go func() {
		buf := make([]byte, 64<<10)
		var n int
		for n < 1<<20 {
			m, err := s.Read(buf)
			n += m
			if err != nil {
				break
			}
		}
		s.SetLinger(0) // close with RST
		s.Close()
	}()
	up := make([]byte, 64<<20)
	r := waitPump(t, goPump(context.Background(), c, bytes.NewReader(up), io.Discard, noQuit()))
	var se *SendError
	if !errors.As(r.err, &se) {
		t.Fatalf("Pump error = %v, want a *SendError", r.err)
	}
	if se.Sent <= 0 || se.Sent >= int64(len(up)) {
		t.Errorf("SendError.Sent = %d, want between 0 and %d", se.Sent, len(up))
	}
	if !errors.Is(r.err, syscall.ECONNRESET) && !errors.Is(r.err, syscall.EPIPE) {
		t.Errorf("Pump error = %v, want ECONNRESET or EPIPE", r.err)
	}
}

// TestPumpQuitAfter: after local EOF the pump ends at the quit time even
// though the peer never closes, and that is a normal end.
func TestPumpQuitAfter(t *testing.T) {
	c, _ := tcpPair(t)
	opt := noQuit()
	opt.QuitAfter = 50 * time.Millisecond
	start := time.Now()
	r := waitPump(t, goPump(context.Background(), c, bytes.NewReader([]byte("x")), io.Discard, opt))
	if r.err != nil {
		t.Fatalf("Pump: %v", r.err)
	}
	if el := time.Since(start); el < 50*time.Millisecond {
		t.Errorf("returned after %v, before the quit time", el)
	}
}

// TestPumpStopOnPeerEOF: with terminal stdin, the peer's close ends the
// session although local input never ends.
func TestPumpStopOnPeerEOF(t *testing.T) {
	c, s := tcpPair(t)
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	s.Write([]byte("bye"))
	s.Close()
	opt := noQuit()
	opt.StopOnPeerEOF = true
	var out bytes.Buffer
	r := waitPump(t, goPump(context.Background(), c, pr, &out, opt))
	if r.err != nil || out.String() != "bye" {
		t.Fatalf("Pump = %q, %v; want %q, nil", out.String(), r.err, "bye")
	}
}

// TestPumpIdle: nothing moves, so the idle timeout ends the pump.
func TestPumpIdle(t *testing.T) {
	c, _ := tcpPair(t)
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	opt := noQuit()
	opt.IdleTimeout = 50 * time.Millisecond
	r := waitPump(t, goPump(context.Background(), c, pr, io.Discard, opt))
	if !errors.Is(r.err, ErrIdle) {
		t.Fatalf("Pump error = %v, want ErrIdle", r.err)
	}
}

// TestPumpIdleActivityResets: traffic keeps an idle timer from firing.
func TestPumpIdleActivityResets(t *testing.T) {
	c, s := tcpPair(t)
	opt := noQuit()
	opt.IdleTimeout = 150 * time.Millisecond
	go func() {
		for i := 0; i < 6; i++ {
			s.Write([]byte("tick\n"))
			time.Sleep(50 * time.Millisecond)
		}
		s.Close()
	}()
	var out bytes.Buffer
	r := waitPump(t, goPump(context.Background(), c, bytes.NewReader(nil), &out, opt))
	if r.err != nil {
		t.Fatalf("Pump: %v (after %q)", r.err, out.String())
	}
	if out.Len() != 30 {
		t.Errorf("received %d bytes, want 30", out.Len())
	}
}

type failReader struct{ t *testing.T }

func (f failReader) Read([]byte) (int, error) {
	f.t.Error("recv-only pump read local input")
	return 0, io.EOF
}

// TestPumpRecvOnly: local input is never read and no FIN is sent.
func TestPumpRecvOnly(t *testing.T) {
	c, s := tcpPair(t)
	go func() {
		s.Write([]byte("data"))
		s.Close()
	}()
	opt := noQuit()
	opt.RecvOnly = true
	var out bytes.Buffer
	r := waitPump(t, goPump(context.Background(), c, failReader{t}, &out, opt))
	if r.err != nil || out.String() != "data" {
		t.Fatalf("Pump = %q, %v", out.String(), r.err)
	}
}

// TestPumpSendOnly: ends at local EOF after sending FIN, ignoring replies.
func TestPumpSendOnly(t *testing.T) {
	c, s := tcpPair(t)
	s.Write([]byte("ignored"))
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(s)
		got <- b
	}()
	opt := noQuit()
	opt.SendOnly = true
	var out bytes.Buffer
	r := waitPump(t, goPump(context.Background(), c, bytes.NewReader([]byte("payload")), &out, opt))
	if r.err != nil {
		t.Fatal(r.err)
	}
	if g := <-got; string(g) != "payload" {
		t.Errorf("peer got %q", g)
	}
	if out.Len() != 0 {
		t.Errorf("send-only wrote %q to out", out.String())
	}
}

// TestPumpNoShutdown: without FIN the peer sees no EOF; the pump ends when
// the peer closes.
func TestPumpNoShutdown(t *testing.T) {
	c, s := tcpPair(t)
	opt := noQuit()
	opt.NoShutdown = true
	ch := goPump(context.Background(), c, bytes.NewReader([]byte("hi")), io.Discard, opt)
	buf := make([]byte, 16)
	n, _ := io.ReadAtLeast(s, buf, 2)
	s.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if _, err := s.Read(buf[n:]); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("peer read after data = %v, want a timeout (no FIN)", err)
	}
	s.Close()
	if r := waitPump(t, ch); r.err != nil {
		t.Fatal(r.err)
	}
}

// TestPumpCancel: cancelling the context ends the pump with its error.
func TestPumpCancel(t *testing.T) {
	c, _ := tcpPair(t)
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	ch := goPump(ctx, c, pr, io.Discard, noQuit())
	cancel()
	if r := waitPump(t, ch); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("Pump error = %v, want context.Canceled", r.err)
	}
}

type epipeWriter struct{}

func (epipeWriter) Write([]byte) (int, error) {
	return 0, &os.PathError{Op: "write", Path: "/dev/stdout", Err: syscall.EPIPE}
}

// TestPumpStdoutClosed: a reader that went away ends the pump quietly.
func TestPumpStdoutClosed(t *testing.T) {
	c, s := tcpPair(t)
	s.Write([]byte("data"))
	r := waitPump(t, goPump(context.Background(), c, bytes.NewReader(nil), epipeWriter{}, noQuit()))
	if !errors.Is(r.err, ErrStdoutClosed) {
		t.Fatalf("Pump error = %v, want ErrStdoutClosed", r.err)
	}
}

// TestPumpInterruptCountsAndResets: a sender interrupted with input unsent
// reports every byte it handed to the kernel, and resets the connection so
// the receiver sees an error, not an orderly end (SPEC §3). Local input is a
// pipe that gave 4 MiB and stays open, a regular file larger than the
// socket buffers, and a plain reader.
func TestPumpInterruptCountsAndResets(t *testing.T) {
	const given = 4 << 20
	for _, kind := range []string{"pipe", "file", "reader"} {
		t.Run(kind, func(t *testing.T) {
			c, s := tcpPair(t)
			var local io.Reader
			switch kind {
			case "pipe":
				pr, pw, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { pr.Close(); pw.Close() })
				go pw.Write(randBytes(given, 7)) // then stays open
				local = pr
			case "file":
				f, err := os.CreateTemp(t.TempDir(), "big")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { f.Close() })
				if err := f.Truncate(256 << 20); err != nil {
					t.Fatal(err)
				}
				local = f
			case "reader":
				pr, pw := io.Pipe()
				t.Cleanup(func() { pw.Close() })
				go pw.Write(randBytes(given, 7))
				local = pr
			}
			ctx, cancel := context.WithCancel(context.Background())
			ch := goPump(ctx, c, local, io.Discard, noQuit())
			buf := make([]byte, given)
			if _, err := io.ReadFull(s, buf); err != nil {
				t.Fatalf("peer read: %v", err)
			}
			time.Sleep(100 * time.Millisecond) // the sender blocks: buffers full, or input waits
			cancel()
			r := waitPump(t, ch)
			c.Close()
			if !errors.Is(r.err, context.Canceled) {
				t.Fatalf("Pump error = %v, want context.Canceled", r.err)
			}
			rest, err := io.Copy(io.Discard, s)
			if !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("peer read ended with %v after %d more bytes, want a reset", err, rest)
			}
			got := int64(given) + rest
			if r.st.Sent < got || (kind != "file" && r.st.Sent != given) {
				t.Errorf("Sent = %d; the peer received at least %d (input gave %d)", r.st.Sent, got, given)
			}
		})
	}
}

// TestPumpEmptyInputWaitsForPeer: local input is empty; the peer stops
// sending at the first FIN it sees (as nc -N -l and ncat -l do), so the
// pump must not send one while the download runs (SPEC §3).
func TestPumpEmptyInputWaitsForPeer(t *testing.T) {
	if runtimeCannotTell() {
		t.Skip("the kernel cannot report the bytes a peer sent on this platform: the FIN goes at once")
	}
	c, s := tcpPair(t)
	down := randBytes(8<<20, 9)
	sawFIN := make(chan struct{})
	go func() { // the peer's reader: any byte or EOF from the pump
		io.Copy(io.Discard, s)
		close(sawFIN)
	}()
	go func() { // the peer's sender: small writes, stopping at the FIN
		defer s.CloseWrite()
		for off := 0; off < len(down); off += 64 << 10 {
			select {
			case <-sawFIN:
				return
			default:
			}
			if _, err := s.Write(down[off : off+64<<10]); err != nil {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	var out bytes.Buffer
	r := waitPump(t, goPump(context.Background(), c, bytes.NewReader(nil), &out, noQuit()))
	if r.err != nil {
		t.Fatalf("Pump: %v", r.err)
	}
	if sha256.Sum256(out.Bytes()) != sha256.Sum256(down) {
		t.Errorf("received %d bytes, want %d (sha256 differs): the FIN cut the download", out.Len(), len(down))
	}
}

// TestPumpEmptyInputPausingSender: local input is empty and the peer sends,
// pauses longer than emptyInputGrace, then sends more, stopping at the first
// FIN it sees (as `nc -N -l` does): the pause must not cut the download.
func TestPumpEmptyInputPausingSender(t *testing.T) {
	if runtimeCannotTell() {
		t.Skip("the kernel cannot report the bytes a peer sent on this platform: the FIN goes at once")
	}
	c, s := tcpPair(t)
	down := randBytes(256<<10, 11)
	sawFIN := make(chan struct{})
	go func() { // the peer's reader: any byte or EOF from the pump
		io.Copy(io.Discard, s)
		close(sawFIN)
	}()
	go func() { // the peer's sender: half, a pause, the rest, unless a FIN came
		defer s.CloseWrite()
		half := len(down) / 2
		if _, err := s.Write(down[:half]); err != nil {
			return
		}
		select {
		case <-sawFIN:
			return
		case <-time.After(emptyInputGrace + 700*time.Millisecond):
		}
		s.Write(down[half:])
	}()
	var out bytes.Buffer
	r := waitPump(t, goPump(context.Background(), c, bytes.NewReader(nil), &out, noQuit()))
	if r.err != nil {
		t.Fatalf("Pump: %v", r.err)
	}
	if sha256.Sum256(out.Bytes()) != sha256.Sum256(down) {
		t.Errorf("received %d bytes, want %d (sha256 differs): the FIN cut a pausing download", out.Len(), len(down))
	}
}

// TestPumpEmptyInputSilentPeer: local input is empty and the peer sends
// nothing, waiting for our end of input: it gets the FIN after
// emptyInputGrace, and the pump ends when the peer closes.
func TestPumpEmptyInputSilentPeer(t *testing.T) {
	c, s := tcpPair(t)
	got := make(chan time.Duration, 1)
	start := time.Now()
	go func() {
		io.Copy(io.Discard, s)
		got <- time.Since(start)
		s.Close()
	}()
	r := waitPump(t, goPump(context.Background(), c, bytes.NewReader(nil), io.Discard, noQuit()))
	if r.err != nil {
		t.Fatalf("Pump: %v", r.err)
	}
	if d := <-got; d > emptyInputGrace+2*time.Second {
		t.Errorf("the peer saw the FIN after %v, want about %v", d, emptyInputGrace)
	}
}
