package ioutil_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/sockcat/sockcat/ioutil"
	"golang.org/x/text/encoding"
	xunicode "golang.org/x/text/encoding/unicode"
)

// chunkCharsets are the charsets the spec lists; the fuzz targets run them all.
var chunkCharsets = []string{
	"utf-8", "ascii", "latin1", "iso-8859-15", "windows-1252", "utf-16le", "utf-16be",
	"utf-16", "shift_jis", "euc-kr", "gbk", "koi8-r",
}

func TestLookupCharset(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "utf-8", want: "utf-8"},
		{in: "UTF8", want: "utf-8"},
		{in: "ascii", want: "us-ascii"},
		{in: "latin1", want: "iso-8859-1"},
		{in: "ISO-8859-1", want: "iso-8859-1"},
		{in: "iso-8859-15", want: "iso-8859-15"},
		{in: "windows-1252", want: "windows-1252"},
		{in: "cp1252", want: "windows-1252"},
		{in: "utf-16le", want: "utf-16le"},
		{in: "utf-16be", want: "utf-16be"},
		{in: "utf-16", want: "utf-16"},
		{in: "shift_jis", want: "shift_jis"},
		{in: "sjis", want: "shift_jis"},
		{in: "euc-kr", want: "euc-kr"},
		{in: "gbk", want: "gbk"},
		{in: "koi8-r", want: "koi8-r"},
		{in: "utf-32", wantErr: true}, // IANA knows it; x/text has no codec
		{in: "klingon", wantErr: true},
		{in: "", wantErr: true},
		{in: "replacement", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			cs, err := ioutil.LookupCharset(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("LookupCharset(%q) error = %v, wantErr %t", tt.in, err, tt.wantErr)
			}
			if err == nil && cs.Name != tt.want {
				t.Errorf("LookupCharset(%q).Name = %q, want %q", tt.in, cs.Name, tt.want)
			}
		})
	}
}

func TestCharsetNamesLookUp(t *testing.T) {
	names := ioutil.CharsetNames()
	if len(names) < 30 {
		t.Fatalf("CharsetNames() = %d names, want the x/text set (≥ 30): %q", len(names), names)
	}
	for _, n := range names {
		cs, err := ioutil.LookupCharset(n)
		if err != nil || cs.Name != n {
			t.Errorf("LookupCharset(%q) = %v, %v; want the listed name back", n, cs, err)
		}
	}
	for _, n := range chunkCharsets {
		cs, _ := ioutil.LookupCharset(n)
		if !contains(names, cs.Name) {
			t.Errorf("CharsetNames() lacks %q (%s)", cs.Name, n)
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func mustCharset(t testing.TB, name string) *ioutil.Charset {
	t.Helper()
	cs, err := ioutil.LookupCharset(name)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func TestEncodeReader(t *testing.T) {
	tests := []struct {
		cs      string
		in      string
		replace bool
		want    string
		errOff  int64 // -1: no error
		errRune rune
	}{
		{cs: "utf-8", in: "café\n", want: "café\n", errOff: -1},
		{cs: "latin1", in: "café\n", want: "caf\xe9\n", errOff: -1},
		{cs: "ascii", in: "hello\n", want: "hello\n", errOff: -1},
		{cs: "ascii", in: "café", want: "caf", errOff: 3, errRune: 'é'},
		{cs: "ascii", in: "café", replace: true, want: "caf?", errOff: -1},
		{cs: "latin1", in: "a€b", want: "a", errOff: 1, errRune: '€'},
		{cs: "latin1", in: "a€b", replace: true, want: "a?b", errOff: -1},
		{cs: "windows-1252", in: "a€b", want: "a\x80b", errOff: -1},
		{cs: "iso-8859-15", in: "€", want: "\xa4", errOff: -1},
		{cs: "koi8-r", in: "Привет", want: "\xf0\xd2\xc9\xd7\xc5\xd4", errOff: -1},
		{cs: "koi8-r", in: "日", replace: true, want: "?", errOff: -1},
		{cs: "utf-16le", in: "hi😀", want: "h\x00i\x00\x3d\xd8\x00\xde", errOff: -1},
		{cs: "utf-16be", in: "hi", want: "\x00h\x00i", errOff: -1},
		{cs: "utf-16", in: "hi", want: "\xfe\xff\x00h\x00i", errOff: -1},
		{cs: "shift_jis", in: "日本", want: "\x93\xfa\x96\x7b", errOff: -1},
		{cs: "shift_jis", in: "x한", want: "x", errOff: 1, errRune: '한'},
		{cs: "euc-kr", in: "한", want: "\xc7\xd1", errOff: -1},
		{cs: "gbk", in: "中文", want: "\xd6\xd0\xce\xc4", errOff: -1},
		{cs: "latin1", in: "ab\xffc", want: "ab", errOff: 2, errRune: utf8.RuneError},
		{cs: "latin1", in: "ab\xffc", replace: true, want: "ab?c", errOff: -1},
		{cs: "utf-8", in: "ab\xe2\x82", want: "ab", errOff: 2, errRune: utf8.RuneError}, // cut at EOF
		{cs: "utf-16le", in: "", want: "", errOff: -1},
	}
	for _, tt := range tests {
		t.Run(tt.cs+"/"+tt.in, func(t *testing.T) {
			cs := mustCharset(t, tt.cs)
			for _, wrap := range []struct {
				name string
				fn   func(io.Reader) io.Reader
			}{
				{"plain", func(r io.Reader) io.Reader { return r }},
				{"onebyte", iotest.OneByteReader},
				{"half", iotest.HalfReader},
			} {
				r := ioutil.NewEncodeReader(wrap.fn(strings.NewReader(tt.in)), cs, tt.replace)
				got, err := io.ReadAll(wrap.fn(r))
				if diff := cmp.Diff([]byte(tt.want), got); diff != "" {
					t.Errorf("%s: output mismatch (-want +got):\n%s", wrap.name, diff)
				}
				var ee *ioutil.EncodeError
				switch {
				case tt.errOff < 0 && err != nil:
					t.Errorf("%s: error %v, want none", wrap.name, err)
				case tt.errOff >= 0 && !errors.As(err, &ee):
					t.Errorf("%s: error %v, want an *EncodeError", wrap.name, err)
				case tt.errOff >= 0 && (ee.Offset != tt.errOff || ee.Rune != tt.errRune):
					t.Errorf("%s: error at %d rune %U, want %d %U", wrap.name, ee.Offset, ee.Rune, tt.errOff, tt.errRune)
				}
			}
		})
	}
}

func TestEncodeReaderIOTest(t *testing.T) {
	for _, name := range []string{"utf-8", "utf-16le", "utf-16", "gbk"} {
		text := strings.Repeat("Grüße, 世界! 😀\n", 300)
		if name == "gbk" {
			text = strings.Repeat("你好, 世界!\n", 300)
		}
		cs := mustCharset(t, name)
		want, err := io.ReadAll(ioutil.NewEncodeReader(strings.NewReader(text), cs, false))
		if err != nil {
			t.Fatal(err)
		}
		for _, wrap := range []func(io.Reader) io.Reader{
			func(r io.Reader) io.Reader { return r }, iotest.OneByteReader, iotest.HalfReader, iotest.DataErrReader,
		} {
			r := ioutil.NewEncodeReader(wrap(strings.NewReader(text)), cs, false)
			if err := iotest.TestReader(r, want); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
}

func TestEncodeReaderReadError(t *testing.T) {
	boom := errors.New("boom")
	r := ioutil.NewEncodeReader(io.MultiReader(strings.NewReader("ok"), iotest.ErrReader(boom)), mustCharset(t, "utf-16le"), false)
	got, err := io.ReadAll(r)
	if !errors.Is(err, boom) {
		t.Errorf("error = %v, want %v", err, boom)
	}
	if diff := cmp.Diff([]byte("o\x00k\x00"), got); diff != "" {
		t.Errorf("output mismatch (-want +got):\n%s", diff)
	}
}

// TestEncodeReaderLinePerRead: a source that returns one line per Read gives
// one encoded line per Read (the UDP framing).
func TestEncodeReaderLinePerRead(t *testing.T) {
	src := &lineReader{lines: []string{"a\n", "bé\n", "c"}}
	r := ioutil.NewEncodeReader(src, mustCharset(t, "utf-16le"), false)
	var got []string
	buf := make([]byte, 1024)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			got = append(got, string(buf[:n]))
		}
		if err != nil {
			break
		}
	}
	want := []string{"a\x00\n\x00", "b\x00\xe9\x00\n\x00", "c\x00"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reads mismatch (-want +got):\n%s", diff)
	}
}

type lineReader struct{ lines []string }

func (l *lineReader) Read(p []byte) (int, error) {
	if len(l.lines) == 0 {
		return 0, io.EOF
	}
	n := copy(p, l.lines[0])
	l.lines[0] = l.lines[0][n:]
	if l.lines[0] == "" {
		l.lines = l.lines[1:]
	}
	return n, nil
}

func TestDecodeWriter(t *testing.T) {
	tests := []struct {
		cs        string
		wire      string
		want      string
		warnAt    int64 // offset of the first invalid byte; -1: no warning
		datagrams bool
	}{
		{cs: "latin1", wire: "caf\xe9", want: "café", warnAt: -1},
		{cs: "utf-8", wire: "ok \xff\xfe!", want: "ok \ufffd\ufffd!", warnAt: 3},
		{cs: "utf-8", wire: "legit \ufffd", want: "legit \ufffd", warnAt: -1},
		{cs: "utf-16le", wire: "h\x00i\x00\x3d\xd8\x00\xde", want: "hi😀", warnAt: -1},
		{cs: "utf-16le", wire: "h\x00i", want: "h\ufffd", warnAt: 2}, // odd byte at EOF
		{cs: "utf-16", wire: "\xff\xfeh\x00", want: "h", warnAt: -1},
		{cs: "utf-16", wire: "\xfe\xff\x00h", want: "h", warnAt: -1},
		{cs: "shift_jis", wire: "\x93\xfa\x96\x7b", want: "日本", warnAt: -1},
		{cs: "koi8-r", wire: "\xf0\xd2\xc9\xd7\xc5\xd4", want: "Привет", warnAt: -1},
		{cs: "ascii", wire: "a\x80b", want: "a\ufffdb", warnAt: 1},
		{cs: "utf-8", wire: "\xe2\x82", want: "\ufffd", warnAt: 0, datagrams: true},
	}
	for _, tt := range tests {
		t.Run(tt.cs+"/"+tt.wire, func(t *testing.T) {
			for _, step := range []int{1, 2, 3, len(tt.wire) + 1} {
				var out bytes.Buffer
				warns := 0
				var from, to int64
				w := ioutil.NewDecodeWriter(&out, mustCharset(t, tt.cs), tt.datagrams, func(f, t int64) {
					warns++
					from, to = f, t
				})
				if tt.datagrams {
					step = len(tt.wire)
				}
				for i := 0; i < len(tt.wire); i += step {
					chunk := tt.wire[i:min(i+step, len(tt.wire))]
					if n, err := w.Write([]byte(chunk)); n != len(chunk) || err != nil {
						t.Fatalf("Write = %d, %v", n, err)
					}
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, out.String()); diff != "" {
					t.Errorf("step %d: mismatch (-want +got):\n%s", step, diff)
				}
				wantWarns := 1
				if tt.warnAt < 0 {
					wantWarns = 0
				}
				if warns != wantWarns {
					t.Errorf("step %d: %d warnings, want %d", step, warns, wantWarns)
				}
				if wantWarns == 1 && (tt.warnAt < from || tt.warnAt >= to) {
					t.Errorf("step %d: warning names bytes %d-%d, want a range holding %d", step, from, to, tt.warnAt)
				}
			}
		})
	}
}

// TestDecodeWriterOneWarning: many invalid bytes in many writes make one
// warning.
func TestDecodeWriterOneWarning(t *testing.T) {
	warns := 0
	w := ioutil.NewDecodeWriter(io.Discard, mustCharset(t, "utf-8"), false, func(int64, int64) { warns++ })
	for range 10 {
		w.Write([]byte("x\xff\xfe\x80"))
	}
	w.Close()
	if warns != 1 {
		t.Errorf("%d warnings, want 1", warns)
	}
}

// TestDecodeWriterDatagrams: each Write is decoded on its own, in one
// Write of the output.
func TestDecodeWriterDatagrams(t *testing.T) {
	rec := &recorder{}
	w := ioutil.NewDecodeWriter(rec, mustCharset(t, "utf-16"), true, nil)
	for _, d := range []string{"\xff\xfeh\x00i\x00", "\xfe\xff\x00o\x00k", ""} {
		w.Write([]byte(d))
	}
	if diff := cmp.Diff([]string{"hi", "ok"}, rec.writes); diff != "" {
		t.Errorf("writes mismatch (-want +got):\n%s", diff)
	}
}

type recorder struct{ writes []string }

func (r *recorder) Write(p []byte) (int, error) {
	r.writes = append(r.writes, string(p))
	return len(p), nil
}

func decodeInChunks(t *testing.T, cs *ioutil.Charset, wire []byte, step int) []byte {
	t.Helper()
	var out bytes.Buffer
	w := ioutil.NewDecodeWriter(&out, cs, false, nil)
	for i := 0; i < len(wire); i += step {
		if _, err := w.Write(wire[i:min(i+step, len(wire))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// FuzzDecoderChunking checks that decoded output does not depend on where
// the wire split the bytes; TCP delivers arbitrary chunks.
func FuzzDecoderChunking(f *testing.F) {
	f.Add([]byte("caf\xe9"), uint8(1))
	f.Add([]byte("h\x00i\x00\x3d\xd8\x00\xde"), uint8(3)) // UTF-16LE with a surrogate pair
	f.Add([]byte("\xff\xfeh\x00"), uint8(1))
	f.Add([]byte("\x93\xfa\x96\x7b\xe2\x82"), uint8(2))
	f.Add([]byte("ok \xff\xfe!"), uint8(0))
	f.Fuzz(func(t *testing.T, wire []byte, step uint8) {
		for _, name := range chunkCharsets {
			cs := mustCharset(t, name)
			whole := decodeInChunks(t, cs, wire, len(wire)+1)
			split := decodeInChunks(t, cs, wire, int(step%16)+1)
			if !bytes.Equal(whole, split) {
				t.Fatalf("%s: chunk size %d changed the output\nwhole %q\nsplit %q", name, step%16+1, whole, split)
			}
			if !utf8.Valid(whole) {
				t.Fatalf("%s: output %q is not UTF-8", name, whole)
			}
		}
	})
}

// chunkReader returns its data step bytes at a time.
type chunkReader struct {
	b    []byte
	step int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.b[:min(c.step, len(c.b))])
	c.b = c.b[n:]
	return n, nil
}

func encodeAll(cs *ioutil.Charset, text []byte, step int, replace bool) ([]byte, error) {
	return io.ReadAll(ioutil.NewEncodeReader(&chunkReader{text, step}, cs, replace))
}

// FuzzEncoderChunking checks that encoded output, and the offset of an
// error, do not depend on how stdin split the text.
func FuzzEncoderChunking(f *testing.F) {
	f.Add([]byte("café"), uint8(1), false)
	f.Add([]byte("hi😀\n"), uint8(2), false)
	f.Add([]byte("日本語 한국어 中文"), uint8(3), true)
	f.Add([]byte("ab\xffc\xe2\x82"), uint8(0), true)
	f.Fuzz(func(t *testing.T, text []byte, step uint8, replace bool) {
		for _, name := range chunkCharsets {
			cs := mustCharset(t, name)
			whole, werr := encodeAll(cs, text, len(text)+1, replace)
			split, serr := encodeAll(cs, text, int(step%16)+1, replace)
			if !bytes.Equal(whole, split) {
				t.Fatalf("%s: chunk size %d changed the output\nwhole %q\nsplit %q", name, step%16+1, whole, split)
			}
			var we, se *ioutil.EncodeError
			if errors.As(werr, &we) != errors.As(serr, &se) || (we != nil && *we != *se) {
				t.Fatalf("%s: chunk size %d changed the error: %v vs %v", name, step%16+1, werr, serr)
			}
			if replace && werr != nil {
				t.Fatalf("%s: replace mode failed: %v", name, werr)
			}
		}
	})
}

// FuzzEncodeRoundTrip: valid text that a charset can carry comes back
// unchanged through the encoder and the decoder; what it cannot carry is
// an error at the offset of the first such character.
func FuzzEncodeRoundTrip(f *testing.F) {
	f.Add("café")
	f.Add("Привет, 世界 😀")
	f.Add("日本語")
	f.Add("\x00\x7f\u0080")
	f.Fuzz(func(t *testing.T, text string) {
		if !utf8.ValidString(text) {
			return
		}
		for _, name := range chunkCharsets {
			cs := mustCharset(t, name)
			wire, err := encodeAll(cs, []byte(text), 7, false)
			var ee *ioutil.EncodeError
			if err != nil {
				if !errors.As(err, &ee) {
					t.Fatalf("%s: %v", name, err)
				}
				r, _ := utf8.DecodeRuneInString(text[ee.Offset:])
				if r != ee.Rune {
					t.Fatalf("%s: error names %U at %d, text has %U there", name, ee.Rune, ee.Offset, r)
				}
				text = text[:ee.Offset] // the prefix must still round-trip
				wire, err = encodeAll(cs, []byte(text), 7, false)
				if err != nil {
					t.Fatalf("%s: prefix %q: %v", name, text, err)
				}
			}
			back := decodeInChunks(t, cs, wire, 5)
			if name == "utf-16" {
				back = bytes.TrimPrefix(back, []byte("\ufeff"))
			}
			if string(back) == text {
				continue
			}
			if !lossyCharset(name, text) {
				t.Fatalf("%s: %q → %q → %q", name, text, wire, back)
			}
			// A lossy mapping must at least be stable: the decoded text
			// encodes to the same wire bytes.
			again, err := encodeAll(cs, back, 3, false)
			if err != nil || !bytes.Equal(again, wire) {
				t.Fatalf("%s: %q → %q → %q → %q, %v", name, text, wire, back, again, err)
			}
		}
	})
}

// lossyCharset reports text that a charset maps onto other characters by
// design (GBK and Shift JIS fold some compatibility characters; a legacy
// encoder may also emit a U+FFFD-looking sequence for U+FFFD itself).
func lossyCharset(name, text string) bool {
	switch name {
	case "gbk", "shift_jis", "euc-kr":
		return true
	}
	return strings.ContainsRune(text, utf8.RuneError)
}

// FuzzFastEncoders: the encoders sockcat has of its own (UTF-8 as a copy,
// UTF-16 without a BOM) agree with golang.org/x/text on valid text.
func FuzzFastEncoders(f *testing.F) {
	f.Add("hi 😀 日本 café 𝄞\n")
	f.Add("\x00\u07ff\u0800\uffff\U00010000\U0010ffff")
	f.Fuzz(func(t *testing.T, text string) {
		if !utf8.ValidString(text) {
			return
		}
		for name, enc := range map[string]encoding.Encoding{
			"utf-8":    xunicode.UTF8,
			"utf-16le": xunicode.UTF16(xunicode.LittleEndian, xunicode.IgnoreBOM),
			"utf-16be": xunicode.UTF16(xunicode.BigEndian, xunicode.IgnoreBOM),
		} {
			want, err := enc.NewEncoder().Bytes([]byte(text))
			if err != nil {
				t.Fatal(err)
			}
			for _, step := range []int{1, 3, len(text) + 1} {
				got, err := encodeAll(mustCharset(t, name), []byte(text), step, false)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("%s step %d: %q → %q, %v; x/text says %q", name, step, text, got, err, want)
				}
			}
		}
	})
}
