package ioutil

import (
	"bytes"
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// sizeRecorder records the largest buffer a copy loop offered to Read or
// passed to Write.
type sizeRecorder struct {
	mu      sync.Mutex
	largest int
}

func (s *sizeRecorder) note(n int) {
	s.mu.Lock()
	s.largest = max(s.largest, n)
	s.mu.Unlock()
}

type sizeReader struct {
	r   io.Reader
	rec *sizeRecorder
}

func (r sizeReader) Read(p []byte) (int, error) { r.rec.note(len(p)); return r.r.Read(p) }

type sizeWriter struct {
	w   io.Writer
	rec *sizeRecorder
}

func (w sizeWriter) Write(p []byte) (int, error) { w.rec.note(len(p)); return w.w.Write(p) }

// TestPumpBufferSize: BufferSize (-B) is the buffer of both wrapped copy
// loops, not io.Copy's fixed 32 KiB (issue 10, defect 5).
func TestPumpBufferSize(t *testing.T) {
	const size = 5000
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	down := bytes.Repeat([]byte("d"), 200<<10)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.Write(down)
		c.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, c)
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var in, out sizeRecorder
	var got bytes.Buffer
	local := sizeReader{bytes.NewReader(bytes.Repeat([]byte("u"), 200<<10)), &in}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := Pump(ctx, conn, local, sizeWriter{&got, &out}, PumpOptions{QuitAfter: -1, BufferSize: size})
	if err != nil {
		t.Fatal(err)
	}
	if st.Received != int64(len(down)) || !bytes.Equal(got.Bytes(), down) {
		t.Fatalf("received %d bytes, want %d", st.Received, len(down))
	}
	if in.largest != size || out.largest > size {
		t.Errorf("largest read of stdin %d, largest write to stdout %d; want %d and at most %d", in.largest, out.largest, size, size)
	}
}
