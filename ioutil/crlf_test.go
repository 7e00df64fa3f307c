package ioutil

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestCRLFReader(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"a", "a"},
		{"a\n", "a\r\n"},
		{"a\r\n", "a\r\n"},
		{"\n\n", "\r\n\r\n"},
		{"a\nb\r\nc\n", "a\r\nb\r\nc\r\n"},
		{"\r\r\n", "\r\r\n"},
		{"no newline", "no newline"},
	}
	for _, tt := range tests {
		for _, step := range []int{1, 2, 3, 64} {
			t.Run(fmt.Sprintf("%q/step=%d", tt.in, step), func(t *testing.T) {
				got, err := io.ReadAll(NewCRLFReader(chunked(tt.in, step)))
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != tt.want {
					t.Errorf("CRLF(%q) = %q, want %q", tt.in, got, tt.want)
				}
			})
		}
	}
}

func TestCRLFReaderIOTest(t *testing.T) {
	in := "one\ntwo\r\nthree\n"
	want := []byte("one\r\ntwo\r\nthree\r\n")
	if err := iotest.TestReader(NewCRLFReader(strings.NewReader(in)), want); err != nil {
		t.Error(err)
	}
	for name, r := range map[string]io.Reader{
		"onebyte": NewCRLFReader(iotest.OneByteReader(strings.NewReader(in))),
		"half":    NewCRLFReader(iotest.HalfReader(strings.NewReader(in))),
		"dataerr": NewCRLFReader(iotest.DataErrReader(strings.NewReader(in))),
	} {
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: got %q, %v; want %q", name, got, err, want)
		}
	}
}

// chunked returns a reader that yields s in pieces of step bytes.
func chunked(s string, step int) io.Reader {
	return &chunkReader{b: []byte(s), step: step}
}

type chunkReader struct {
	b    []byte
	step int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := min(c.step, len(p), len(c.b))
	copy(p, c.b[:n])
	c.b = c.b[n:]
	return n, nil
}

func FuzzCRLF(f *testing.F) {
	f.Add([]byte("a\nb\r\nc"), uint8(1))
	f.Add([]byte("\r\n\n\r"), uint8(2))
	f.Fuzz(func(t *testing.T, in []byte, step uint8) {
		whole := AppendCRLF(nil, in, false)
		got, err := io.ReadAll(NewCRLFReader(chunked(string(in), int(step%17)+1)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, whole) {
			t.Fatalf("split %d changed the output: %q vs %q", step%17+1, got, whole)
		}
		// Every LF in the output is preceded by CR, and removing the added
		// CRs gives back the input.
		for i, c := range got {
			if c == '\n' && (i == 0 || got[i-1] != '\r') {
				t.Fatalf("bare LF at %d in %q", i, got)
			}
		}
		if back := bytes.ReplaceAll(got, []byte("\r\n"), []byte("\n")); !bytes.Equal(back, bytes.ReplaceAll(in, []byte("\r\n"), []byte("\n"))) {
			t.Fatalf("content changed: %q -> %q", in, got)
		}
	})
}

func TestLineDelayReader(t *testing.T) {
	in := "a\nbb\nccc"
	r := NewLineDelayReader(context.Background(), strings.NewReader(in), 20*time.Millisecond, 64)
	var reads []string
	start := time.Now()
	buf := make([]byte, 64)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			reads = append(reads, string(buf[:n]))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"a\n", "bb\n", "ccc"}
	if fmt.Sprint(reads) != fmt.Sprint(want) {
		t.Errorf("reads = %q, want %q", reads, want)
	}
	if el := time.Since(start); el < 40*time.Millisecond {
		t.Errorf("3 lines with a 20ms delay took %v, want >= 40ms", el)
	}
}

func TestLineDelayReaderCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := NewLineDelayReader(ctx, strings.NewReader("a\nb\n"), time.Hour, 64)
	buf := make([]byte, 64)
	if _, err := r.Read(buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := r.Read(buf); err != context.Canceled {
		t.Errorf("Read after cancel = %v, want context.Canceled", err)
	}
}

func TestLineDelayReaderIOTest(t *testing.T) {
	in := "x\nyy\n"
	if err := iotest.TestReader(NewLineDelayReader(context.Background(), strings.NewReader(in), 0, 8), []byte(in)); err != nil {
		t.Error(err)
	}
}
