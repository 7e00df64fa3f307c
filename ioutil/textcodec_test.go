package ioutil_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/sockcat/sockcat/ioutil"
)

func TestHexReader(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		errOff  int64 // -1: none
		errChar byte
		errEOF  bool
	}{
		{in: "68656c6c6f", want: "hello", errOff: -1},
		{in: "68 65\n6C 6c\t6F\r\n", want: "hello", errOff: -1},
		{in: "", want: "", errOff: -1},
		{in: " \n ", want: "", errOff: -1},
		{in: "00ff", want: "\x00\xff", errOff: -1},
		{in: "6", want: "", errOff: 0, errEOF: true},
		{in: "41 4", want: "A", errOff: 3, errEOF: true},
		{in: "41 4g", want: "A", errOff: 4, errChar: 'g'},
		{in: "0x41", want: "", errOff: 1, errChar: 'x'},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			for _, wrap := range []func(io.Reader) io.Reader{func(r io.Reader) io.Reader { return r }, iotest.OneByteReader, iotest.HalfReader} {
				got, err := io.ReadAll(wrap(ioutil.NewHexReader(wrap(strings.NewReader(tt.in)))))
				checkDigits(t, got, err, tt.want, tt.errOff, tt.errChar, tt.errEOF)
			}
		})
	}
}

func TestBase64Reader(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		errOff  int64
		errChar byte
		errEOF  bool
	}{
		{in: "aGVsbG8=", want: "hello", errOff: -1},
		{in: "aGVs\nbG8=\n", want: "hello", errOff: -1},
		{in: "aGVsbG8", want: "hello", errOff: -1}, // unpadded end
		{in: "QQ==\nQg==\n", want: "AB", errOff: -1},
		{in: "", want: "", errOff: -1},
		{in: "+/+/", want: "\xfb\xff\xbf", errOff: -1},
		{in: "QQ=x", want: "", errOff: 3, errChar: 'x'},
		{in: "Q===", want: "", errOff: 1, errChar: '='},
		{in: "aGVs b", want: "hel", errOff: 5, errChar: 'b', errEOF: true},
		{in: "aGV*", want: "", errOff: 3, errChar: '*'},
		{in: "aGVs-_", want: "hel", errOff: 4, errChar: '-'},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			for _, wrap := range []func(io.Reader) io.Reader{func(r io.Reader) io.Reader { return r }, iotest.OneByteReader, iotest.HalfReader} {
				got, err := io.ReadAll(wrap(ioutil.NewBase64Reader(wrap(strings.NewReader(tt.in)))))
				checkDigits(t, got, err, tt.want, tt.errOff, tt.errChar, tt.errEOF)
			}
		})
	}
}

func checkDigits(t *testing.T, got []byte, err error, want string, errOff int64, errChar byte, errEOF bool) {
	t.Helper()
	if diff := cmp.Diff([]byte(want), got); diff != "" {
		t.Errorf("output mismatch (-want +got):\n%s", diff)
	}
	var de *ioutil.DigitError
	switch {
	case errOff < 0 && err != nil:
		t.Errorf("error %v, want none", err)
	case errOff >= 0 && !errors.As(err, &de):
		t.Errorf("error %v, want a *DigitError", err)
	case errOff >= 0 && (de.Offset != errOff || de.EOF != errEOF || (!errEOF && de.Char != errChar)):
		t.Errorf("error %+v, want offset %d char %q eof %t", de, errOff, errChar, errEOF)
	}
}

func TestDecodeReadersIOTest(t *testing.T) {
	data := bytes.Repeat([]byte("\x00binary\xff data\n"), 500)
	hexText := hex.EncodeToString(data)
	b64Text := base64.StdEncoding.EncodeToString(data)
	for name, mk := range map[string]func() io.Reader{
		"hex":           func() io.Reader { return ioutil.NewHexReader(strings.NewReader(hexText)) },
		"hex/onebyte":   func() io.Reader { return ioutil.NewHexReader(iotest.OneByteReader(strings.NewReader(hexText))) },
		"hex/half":      func() io.Reader { return ioutil.NewHexReader(iotest.HalfReader(strings.NewReader(hexText))) },
		"hex/dataerr":   func() io.Reader { return ioutil.NewHexReader(iotest.DataErrReader(strings.NewReader(hexText))) },
		"b64":           func() io.Reader { return ioutil.NewBase64Reader(strings.NewReader(b64Text)) },
		"b64/onebyte":   func() io.Reader { return ioutil.NewBase64Reader(iotest.OneByteReader(strings.NewReader(b64Text))) },
		"b64/half":      func() io.Reader { return ioutil.NewBase64Reader(iotest.HalfReader(strings.NewReader(b64Text))) },
		"b64/dataerror": func() io.Reader { return ioutil.NewBase64Reader(iotest.DataErrReader(strings.NewReader(b64Text))) },
	} {
		if err := iotest.TestReader(mk(), data); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestDecodeReaderLinePerRead: one line of text per Read gives one decoded
// line per Read; blank lines give none (UDP framing of hex input).
func TestDecodeReaderLinePerRead(t *testing.T) {
	src := &lineReader{lines: []string{"41 42\n", "\n", "43\n", "44"}}
	r := ioutil.NewHexReader(src)
	var got []string
	buf := make([]byte, 100)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			got = append(got, string(buf[:n]))
		}
		if err != nil {
			break
		}
	}
	if diff := cmp.Diff([]string{"AB", "C", "D"}, got); diff != "" {
		t.Errorf("reads mismatch (-want +got):\n%s", diff)
	}
}

func TestTextWriterStream(t *testing.T) {
	data := []byte(strings.Repeat("0123456789", 12)) // 120 bytes
	tests := []struct {
		name string
		mk   func(io.Writer) *ioutil.TextWriter
		want string
	}{
		{"hex", func(w io.Writer) *ioutil.TextWriter { return ioutil.NewHexWriter(w, false) },
			hex.EncodeToString(data[:32]) + "\n" + hex.EncodeToString(data[32:64]) + "\n" +
				hex.EncodeToString(data[64:96]) + "\n" + hex.EncodeToString(data[96:]) + "\n"},
		{"base64", func(w io.Writer) *ioutil.TextWriter { return ioutil.NewBase64Writer(w, false) },
			base64.StdEncoding.EncodeToString(data[:57]) + "\n" + base64.StdEncoding.EncodeToString(data[57:114]) + "\n" +
				base64.StdEncoding.EncodeToString(data[114:]) + "\n"},
	}
	for _, tt := range tests {
		for _, step := range []int{1, 2, 3, 7, 32, 57, 200} {
			var out bytes.Buffer
			w := tt.mk(&out)
			for i := 0; i < len(data); i += step {
				if n, err := w.Write(data[i:min(i+step, len(data))]); err != nil || n != min(step, len(data)-i) {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, out.String()); diff != "" {
				t.Errorf("%s step %d: mismatch (-want +got):\n%s", tt.name, step, diff)
			}
		}
	}
}

func TestTextWriterDatagrams(t *testing.T) {
	for _, tt := range []struct {
		name string
		w    func(io.Writer) *ioutil.TextWriter
		want []string
	}{
		{"hex", func(w io.Writer) *ioutil.TextWriter { return ioutil.NewHexWriter(w, true) }, []string{"6869\n", "\n", "00ff\n"}},
		{"base64", func(w io.Writer) *ioutil.TextWriter { return ioutil.NewBase64Writer(w, true) }, []string{"aGk=\n", "\n", "AP8=\n"}},
	} {
		rec := &recorder{}
		w := tt.w(rec)
		for _, d := range []string{"hi", "", "\x00\xff"} {
			w.Write([]byte(d))
		}
		w.Close()
		if diff := cmp.Diff(tt.want, rec.writes); diff != "" {
			t.Errorf("%s: writes mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
}

// FuzzHexReader: the decoder agrees with encoding/hex on the text without
// whitespace, whatever the split, and an error names a byte that is not a
// hex digit (or the odd last digit).
func FuzzHexReader(f *testing.F) {
	f.Add("68 65\n6C", uint8(1))
	f.Add("0x41", uint8(2))
	f.Add("abc", uint8(0))
	f.Fuzz(func(t *testing.T, text string, step uint8) {
		got, err := io.ReadAll(ioutil.NewHexReader(&chunkReader{[]byte(text), int(step%8) + 1}))
		clean := strings.Map(func(r rune) rune {
			if strings.ContainsRune(" \t\r\n\v\f", r) {
				return -1
			}
			return r
		}, text)
		want, werr := hex.DecodeString(clean)
		if (err != nil) != (werr != nil) {
			t.Fatalf("%q: error %v, encoding/hex says %v", text, err, werr)
		}
		if err == nil && !bytes.Equal(got, want) {
			t.Fatalf("%q: got %q, want %q", text, got, want)
		}
		var de *ioutil.DigitError
		if err != nil {
			if !errors.As(err, &de) || de.Offset >= int64(len(text)) {
				t.Fatalf("%q: error %v does not name an input byte", text, err)
			}
			if !de.EOF && de.Char != text[de.Offset] {
				t.Fatalf("%q: error names %q at %d, text has %q", text, de.Char, de.Offset, text[de.Offset])
			}
		}
	})
}

// FuzzBase64Reader: whatever the split, the decoder reads back what
// encoding/base64 wrote (padded or not, wrapped or not), and its output on
// any text does not depend on the split.
func FuzzBase64Reader(f *testing.F) {
	f.Add([]byte("hello"), "QQ==\nQg", uint8(1))
	f.Add([]byte{0, 0xff}, "a*", uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, text string, step uint8) {
		n := int(step%8) + 1
		enc := base64.StdEncoding.EncodeToString(data)
		for _, in := range []string{enc, strings.TrimRight(enc, "="), wrap76(enc)} {
			got, err := io.ReadAll(ioutil.NewBase64Reader(&chunkReader{[]byte(in), n}))
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("%q: got %q, %v; want %q", in, got, err, data)
			}
		}
		whole, werr := io.ReadAll(ioutil.NewBase64Reader(strings.NewReader(text)))
		split, serr := io.ReadAll(ioutil.NewBase64Reader(&chunkReader{[]byte(text), n}))
		if !bytes.Equal(whole, split) || (werr == nil) != (serr == nil) {
			t.Fatalf("%q: split %d changed the result: %q %v vs %q %v", text, n, whole, werr, split, serr)
		}
		if werr == nil {
			if std, err := base64.StdEncoding.DecodeString(text); err == nil && !bytes.Equal(std, whole) {
				t.Fatalf("%q: got %q, encoding/base64 says %q", text, whole, std)
			}
		}
	})
}

func wrap76(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\n")
		s = s[76:]
	}
	b.WriteString(s)
	return b.String()
}

// FuzzTextWriterChunking: the stream text does not depend on the split, and
// it decodes back to the bytes.
func FuzzTextWriterChunking(f *testing.F) {
	f.Add([]byte("hello, world"), uint8(1))
	f.Add(bytes.Repeat([]byte{0xff}, 130), uint8(5))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		for _, b64 := range []bool{false, true} {
			write := func(n int) string {
				var out bytes.Buffer
				w := ioutil.NewHexWriter(&out, false)
				if b64 {
					w = ioutil.NewBase64Writer(&out, false)
				}
				for i := 0; i < len(data); i += n {
					w.Write(data[i:min(i+n, len(data))])
				}
				w.Close()
				return out.String()
			}
			whole, split := write(len(data)+1), write(int(step%40)+1)
			if whole != split {
				t.Fatalf("base64=%t: split changed the text:\n%q\n%q", b64, whole, split)
			}
			var r io.Reader = ioutil.NewHexReader(strings.NewReader(whole))
			if b64 {
				r = ioutil.NewBase64Reader(strings.NewReader(whole))
			}
			back, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(back, data) {
				t.Fatalf("base64=%t: %q read back as %q, %v", b64, whole, back, err)
			}
		}
	})
}
