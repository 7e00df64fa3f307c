package ioutil

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
)

// DigitError reports a character that is not part of the hex or base64
// text being decoded, or text that ends in the middle of a unit.
type DigitError struct {
	Kind   string // "hex" or "base64"
	Offset int64  // byte offset of the character in the input
	Char   byte
	EOF    bool // the input ended in the middle of a byte (hex) or group (base64)
}

func (e *DigitError) Error() string {
	if e.EOF {
		return fmt.Sprintf("input byte offset %d: %s text ends in the middle of a byte", e.Offset, e.Kind)
	}
	return fmt.Sprintf("input byte offset %d: invalid %s digit %q", e.Offset, e.Kind, e.Char)
}

func isSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\v', '\f':
		return true
	}
	return false
}

// textDecoder is the state machine of a hex or base64 decoding reader.
type textDecoder interface {
	// decode appends the bytes of src to dst; off is the input offset of
	// src[0]. At EOF it also flushes what is pending.
	decode(dst, src []byte, off int64, atEOF bool) ([]byte, error)
}

// decodeReader turns text read from r into bytes. Each Read that returns
// data makes as many Reads of r as it takes to produce at least one byte
// and no more, so a line-per-Read source stays line-per-Read.
type decodeReader struct {
	r    io.Reader
	dec  textDecoder
	in   []byte
	out  []byte
	o0   int
	off  int64
	err  error
	done bool
}

// NewHexReader returns a reader of the bytes written as hex digits in r's
// text. Whitespace is ignored; any other character, or an odd number of
// digits, ends the stream with a [*DigitError].
func NewHexReader(r io.Reader) io.Reader { return &decodeReader{r: r, dec: &hexDecoder{}} }

// NewBase64Reader returns a reader of the bytes written as standard base64
// in r's text. Whitespace is ignored; padding is optional at the end and
// may close any group, so concatenated padded lines decode as one stream.
func NewBase64Reader(r io.Reader) io.Reader { return &decodeReader{r: r, dec: &base64Decoder{}} }

func (d *decodeReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if d.o0 < len(d.out) {
			n := copy(p, d.out[d.o0:])
			d.o0 += n
			return n, nil
		}
		if d.err != nil {
			return 0, d.err
		}
		if d.done {
			return 0, io.EOF
		}
		if cap(d.in) < max(len(p), minChunk) {
			d.in = make([]byte, max(len(p), minChunk))
		}
		n, rerr := d.r.Read(d.in[:cap(d.in)])
		var err error
		d.out, err = d.dec.decode(d.out[:0], d.in[:n], d.off, rerr != nil)
		d.o0 = 0
		d.off += int64(n)
		switch {
		case err != nil:
			d.err = err
		case rerr == io.EOF:
			d.done = true
		case rerr != nil:
			d.err = rerr
		}
	}
}

type hexDecoder struct {
	half    int   // the high nibble waiting for its pair, when have
	have    bool  // a digit is waiting for its pair
	halfOff int64 // input offset of that digit
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func (h *hexDecoder) decode(dst, src []byte, off int64, atEOF bool) ([]byte, error) {
	for i, c := range src {
		v, ok := unhex(c)
		if !ok {
			if isSpace(c) {
				continue
			}
			return dst, &DigitError{Kind: "hex", Offset: off + int64(i), Char: c}
		}
		if h.have {
			dst = append(dst, byte(h.half)<<4|v)
			h.have = false
			continue
		}
		h.half, h.have, h.halfOff = int(v), true, off+int64(i)
	}
	if atEOF && h.have {
		return dst, &DigitError{Kind: "hex", Offset: h.halfOff, Char: 0, EOF: true}
	}
	return dst, nil
}

type base64Decoder struct {
	quad    [4]byte
	n       int   // characters in quad
	pad     int   // '=' characters in quad
	quadOff int64 // input offset of quad[0]
}

func (b *base64Decoder) decode(dst, src []byte, off int64, atEOF bool) ([]byte, error) {
	for i, c := range src {
		if isSpace(c) {
			continue
		}
		at := off + int64(i)
		switch {
		case c == '=':
			if b.n < 2 {
				return dst, &DigitError{Kind: "base64", Offset: at, Char: c}
			}
			b.pad++
		case b.pad > 0 || !isBase64(c):
			return dst, &DigitError{Kind: "base64", Offset: at, Char: c}
		}
		if b.n == 0 {
			b.quadOff = at
		}
		b.quad[b.n] = c
		b.n++
		if b.n == 4 {
			dst = b.flush(dst)
		}
	}
	if atEOF && b.n > 0 {
		if b.n == 1 {
			return dst, &DigitError{Kind: "base64", Offset: b.quadOff, Char: b.quad[0], EOF: true}
		}
		dst = b.flush(dst)
	}
	return dst, nil
}

// flush decodes the (complete, or final unpadded) group in quad.
func (b *base64Decoder) flush(dst []byte) []byte {
	var q [4]byte
	copy(q[:], b.quad[:b.n])
	for i := b.n; i < 4; i++ {
		q[i] = '='
	}
	var out [3]byte
	n, _ := base64.StdEncoding.Decode(out[:], q[:]) // every character was checked
	b.n, b.pad = 0, 0
	return append(dst, out[:n]...)
}

func isBase64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/'
}

// Line widths of the hex and base64 writers in stream mode.
const (
	hexLineBytes    = 32 // 64 hex digits per line
	base64LineBytes = 57 // 76 base64 characters per line, as MIME
)

// TextWriter prints the bytes written to it as hex or base64 text lines.
// In stream mode the text does not depend on how the bytes were split into
// Writes: full lines of 64 hex digits or 76 base64 characters, with what
// is complete written at once and [TextWriter.Close] ending the last line.
// In datagram mode each Write is one line of its own.
type TextWriter struct {
	w        io.Writer
	base64   bool
	datagram bool
	col      int // bytes already on the current line
	pend     []byte
	buf      []byte
}

// NewHexWriter returns a writer that prints hex lines on w.
func NewHexWriter(w io.Writer, datagram bool) *TextWriter {
	return &TextWriter{w: w, datagram: datagram}
}

// NewBase64Writer returns a writer that prints base64 lines on w.
func NewBase64Writer(w io.Writer, datagram bool) *TextWriter {
	return &TextWriter{w: w, base64: true, datagram: datagram}
}

// Write implements [io.Writer]: one Write of w per call (none when nothing
// is complete yet).
func (t *TextWriter) Write(p []byte) (int, error) {
	b := t.buf[:0]
	switch {
	case t.datagram && t.base64:
		b = base64.StdEncoding.AppendEncode(b, p)
		b = append(b, '\n')
	case t.datagram:
		b = hex.AppendEncode(b, p)
		b = append(b, '\n')
	case t.base64:
		b = t.appendBase64(b, p)
	default:
		b = t.appendHex(b, p)
	}
	t.buf = b
	if len(b) == 0 {
		return len(p), nil
	}
	if _, err := t.w.Write(b); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (t *TextWriter) appendHex(b, p []byte) []byte {
	for len(p) > 0 {
		n := min(len(p), hexLineBytes-t.col)
		b = hex.AppendEncode(b, p[:n])
		p = p[n:]
		t.col += n
		if t.col == hexLineBytes {
			b = append(b, '\n')
			t.col = 0
		}
	}
	return b
}

func (t *TextWriter) appendBase64(b, p []byte) []byte {
	if len(t.pend) > 0 {
		k := min(3-len(t.pend), len(p))
		t.pend = append(t.pend, p[:k]...)
		p = p[k:]
		if len(t.pend) < 3 {
			return b
		}
		b = t.appendGroups(b, t.pend)
		t.pend = t.pend[:0]
	}
	whole := len(p) / 3 * 3
	b = t.appendGroups(b, p[:whole])
	t.pend = append(t.pend, p[whole:]...)
	return b
}

// appendGroups encodes p (a multiple of 3 bytes) onto the current lines.
func (t *TextWriter) appendGroups(b, p []byte) []byte {
	for len(p) > 0 {
		n := min(len(p), base64LineBytes-t.col)
		b = base64.StdEncoding.AppendEncode(b, p[:n])
		p = p[n:]
		t.col += n
		if t.col == base64LineBytes {
			b = append(b, '\n')
			t.col = 0
		}
	}
	return b
}

// Close writes the pending base64 group and ends the last line. It does
// not close the underlying writer.
func (t *TextWriter) Close() error {
	if t.datagram {
		return nil
	}
	var b []byte
	if len(t.pend) > 0 {
		b = base64.StdEncoding.AppendEncode(b, t.pend)
		t.pend = t.pend[:0]
		t.col++
	}
	if t.col > 0 {
		b = append(b, '\n')
		t.col = 0
	}
	if len(b) == 0 {
		return nil
	}
	_, err := t.w.Write(b)
	return err
}
