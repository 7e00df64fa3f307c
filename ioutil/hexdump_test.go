package ioutil_test

import (
	"bytes"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sockcat/sockcat/ioutil"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// TestHexdumpGolden: an exchange logged both ways, compared with a golden
// file (go test -update rewrites it).
func TestHexdumpGolden(t *testing.T) {
	var out bytes.Buffer
	h := ioutil.NewHexdump(&out)
	h.Dump(ioutil.Sent, []byte("GET / HTTP/1.0\r\n\r\n"))
	h.Dump(ioutil.Received, []byte("HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\n"))
	h.Dump(ioutil.Received, []byte("hello"))
	h.Dump(ioutil.Sent, []byte{0x00, 0x01, 0x7f, 0x80, 0xff})
	h.Dump(ioutil.Sent, nil)
	golden := filepath.Join("testdata", "hexdump.golden")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), out.String()); diff != "" {
		t.Errorf("hexdump mismatch (-want +got):\n%s", diff)
	}
	if err := h.Err(); err != nil {
		t.Error(err)
	}
}

// TestHexdumpConcurrent: both directions logged at once keep whole lines.
func TestHexdumpConcurrent(t *testing.T) {
	var out bytes.Buffer
	h := ioutil.NewHexdump(&out)
	var wg sync.WaitGroup
	for _, dir := range []byte{ioutil.Sent, ioutil.Received} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				h.Dump(dir, []byte("0123456789abcdefXYZ"))
			}
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 400 {
		t.Fatalf("%d lines, want 400", len(lines))
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "> ") && !strings.HasPrefix(l, "< ") || !strings.HasSuffix(l, "|") {
			t.Fatalf("torn line %q", l)
		}
	}
}

// FuzzHexdump: one chunk dumps exactly as encoding/hex.Dump, behind the
// direction marker; any split dumps the same bytes at the right offsets.
func FuzzHexdump(f *testing.F) {
	f.Add([]byte("hello, world\n"), uint8(0))
	f.Add(bytes.Repeat([]byte{0, 0x41, 0x7f, 0xff}, 9), uint8(5))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		if len(data) == 0 {
			return
		}
		one := string(ioutil.AppendDump(nil, ioutil.Received, 0, data))
		var want strings.Builder
		for _, l := range strings.SplitAfter(hex.Dump(data), "\n") {
			if l != "" {
				want.WriteString("< " + l)
			}
		}
		if one != want.String() {
			t.Fatalf("one chunk:\n%s\nencoding/hex:\n%s", one, want.String())
		}
		n := int(step%20) + 1
		var split []byte
		for i := 0; i < len(data); i += n {
			split = ioutil.AppendDump(split, ioutil.Sent, int64(i), data[i:min(i+n, len(data))])
		}
		got, err := undump(string(split))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("split %d: read back %q, %v; want %q\n%s", n, got, err, data, split)
		}
	})
}

// undump reads back the bytes of a hexdump, checking that each line's
// offset follows the previous ones.
func undump(s string) ([]byte, error) {
	var out []byte
	for _, l := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		off, err := hex.DecodeString(l[2:10])
		if err != nil {
			return nil, err
		}
		if o := int(off[0])<<24 | int(off[1])<<16 | int(off[2])<<8 | int(off[3]); o != len(out) {
			return nil, &offsetError{o, len(out)}
		}
		digits := strings.ReplaceAll(l[12:60], " ", "")
		b, err := hex.DecodeString(digits)
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	return out, nil
}

type offsetError struct{ got, want int }

func (e *offsetError) Error() string { return "offset out of order" }

func TestObserversAndDigest(t *testing.T) {
	var c ioutil.Counter
	d := ioutil.NewDigest()
	var seen bytes.Buffer
	fn := ioutil.Observers(c.Observe, nil, d.Observe, func(p []byte) { seen.Write(p) })
	data := bytes.Repeat([]byte("abc"), 1000)
	r := ioutil.ObserveReader(bytes.NewReader(data), fn)
	var out bytes.Buffer
	if _, err := out.ReadFrom(r); err != nil {
		t.Fatal(err)
	}
	sum, n := d.Sum()
	want := sha256Hex(data)
	if hex.EncodeToString(sum) != want || n != int64(len(data)) || c.Load() != int64(len(data)) {
		t.Errorf("digest %x n=%d count=%d, want %s n=%d", sum, n, c.Load(), want, len(data))
	}
	if !bytes.Equal(seen.Bytes(), data) || !bytes.Equal(out.Bytes(), data) {
		t.Error("observed or read bytes differ from the input")
	}
	if ioutil.Observers(nil, nil) != nil {
		t.Error("Observers(nil, nil) is not nil")
	}
}

func TestTeeWriter(t *testing.T) {
	var a, b bytes.Buffer
	w := ioutil.ObserveWriter(ioutil.TeeWriter(&a, &b), func([]byte) {})
	for _, s := range []string{"one ", "two"} {
		if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if a.String() != "one two" || b.String() != "one two" {
		t.Errorf("tee wrote %q and %q", a.String(), b.String())
	}
}
