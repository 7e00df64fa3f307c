package ioutil

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Charset is a text encoding of the wire side, as found by [LookupCharset].
// The local side is always UTF-8.
type Charset struct {
	Name string // canonical lower-case name, as [CharsetNames] lists it
	enc  encoding.Encoding
}

// aliases are common names that neither IANA nor the WHATWG index map the
// way a netcat user means them (the WHATWG index reads "ascii" and "latin1"
// as windows-1252, as browsers do).
var aliases = map[string]string{
	"ascii":   "us-ascii",
	"utf8":    "utf-8",
	"latin-1": "iso-8859-1",
	"latin1":  "iso-8859-1",
	"utf16":   "utf-16",
	"utf16le": "utf-16le",
	"utf16be": "utf-16be",
	"sjis":    "shift_jis",
	"cp932":   "windows-31j",
}

// LookupCharset finds a charset by its IANA name or a common alias
// (case-insensitive): IANA first, then MIME, then the WHATWG index, so that
// "latin1" is ISO-8859-1 rather than the browsers' windows-1252.
func LookupCharset(name string) (*Charset, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if a, ok := aliases[n]; ok {
		n = a
	}
	enc, err := ianaindex.IANA.Encoding(n)
	if err != nil || enc == nil {
		enc, err = ianaindex.MIME.Encoding(n)
	}
	if err != nil || enc == nil {
		enc, err = htmlindex.Get(n)
	}
	if err != nil || enc == nil || enc == encoding.Replacement {
		return nil, fmt.Errorf("unknown charset %q", name)
	}
	return &Charset{Name: canonicalName(enc, n), enc: enc}, nil
}

// canonicalName is the MIME (else IANA) name of enc in lower case.
func canonicalName(enc encoding.Encoding, fallback string) string {
	if s, err := ianaindex.MIME.Name(enc); err == nil && s != "" {
		return strings.ToLower(s)
	}
	if s, err := ianaindex.IANA.Name(enc); err == nil && s != "" {
		return strings.ToLower(s)
	}
	return fallback
}

// CharsetNames lists the canonical name of every charset [LookupCharset]
// accepts, sorted.
func CharsetNames() []string {
	var all []encoding.Encoding
	all = append(all, unicode.UTF8)
	all = append(all, unicode.All...)
	all = append(all, charmap.All...)
	all = append(all, japanese.All...)
	all = append(all, korean.All...)
	all = append(all, simplifiedchinese.All...)
	all = append(all, traditionalchinese.All...)
	seen := map[string]bool{"us-ascii": true}
	names := []string{"us-ascii"}
	for _, e := range all {
		n := canonicalName(e, "")
		if n == "" || seen[n] {
			continue
		}
		if cs, err := LookupCharset(n); err != nil || cs.Name != n {
			continue
		}
		seen[n] = true
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// EncodeError reports local input that the charset cannot carry: a
// character it has no code for, or bytes that are not UTF-8.
type EncodeError struct {
	Offset  int64  // byte offset in the UTF-8 input
	Rune    rune   // the character (utf8.RuneError for invalid UTF-8)
	Invalid bool   // the input was not valid UTF-8 at Offset
	Charset string // the charset's name
}

func (e *EncodeError) Error() string {
	if e.Invalid {
		return fmt.Sprintf("input byte offset %d: invalid UTF-8", e.Offset)
	}
	return fmt.Sprintf("input byte offset %d: character %U %q cannot be represented in %s", e.Offset, e.Rune, e.Rune, e.Charset)
}

// EncodeReader reads UTF-8 text from an underlying reader and returns it
// encoded in a charset. A character split across reads is carried over.
// Each Read makes at most one Read of the underlying reader once its
// buffered input is used up, so a reader that returns one line per Read
// keeps doing so through the encoder (UDP framing).
type EncodeReader struct {
	r       io.Reader
	t       transform.Transformer
	cs      *Charset
	replace bool
	rep     []byte // the charset's encoding of '?', for replace mode

	src    []byte // input not yet transformed: src[s0:s1]
	s0, s1 int
	dst    []byte // output not yet returned: dst[d0:d1]
	d0, d1 int
	off    int64 // input offset of src[s0]
	rerr   error // the underlying reader's error, once seen
	err    error // sticky error to return once dst drains
	eof    bool  // the final flush was done
}

// NewEncodeReader returns a reader of r's UTF-8 text in cs. With replace,
// a character cs cannot represent (and invalid UTF-8) becomes '?';
// otherwise it ends the stream with an [*EncodeError].
func NewEncodeReader(r io.Reader, cs *Charset, replace bool) *EncodeReader {
	rep, err := cs.enc.NewEncoder().Bytes([]byte("?"))
	if err != nil {
		rep = []byte("?")
	}
	if len(rep) > 2 && (bytes.HasPrefix(rep, []byte{0xfe, 0xff}) || bytes.HasPrefix(rep, []byte{0xff, 0xfe})) {
		rep = rep[2:] // a byte-order mark belongs to the stream, not to each '?'
	}
	return &EncodeReader{r: r, t: newEncoder(cs), cs: cs, replace: replace, rep: rep}
}

// newEncoder returns cs's encoder, or a faster one of our own for the
// charsets whose encoding of valid UTF-8 is simple: UTF-8 itself (a copy)
// and UTF-16 without a byte-order mark. The input of an encoder here is
// always valid UTF-8 (the reader checks it first).
func newEncoder(cs *Charset) transform.Transformer {
	switch cs.enc {
	case unicode.UTF8:
		return transform.Nop
	case utf16LE:
		return &utf16Encoder{}
	case utf16BE:
		return &utf16Encoder{be: true}
	}
	return cs.enc.NewEncoder()
}

var (
	utf16LE = unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM)
	utf16BE = unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM)
)

// utf16Encoder encodes valid UTF-8 as UTF-16 without a byte-order mark.
type utf16Encoder struct {
	transform.NopResetter
	be bool
}

func (u *utf16Encoder) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	for nSrc < len(src) {
		// A run of ASCII, as much as dst holds.
		s, d := src[nSrc:], dst[nDst:]
		n := min(len(s), len(d)/2)
		s, d = s[:n], d[:2*n]
		i := 0
		if u.be {
			for ; i < len(s) && s[i] < utf8.RuneSelf; i++ {
				d[2*i], d[2*i+1] = 0, s[i]
			}
		} else {
			for ; i < len(s) && s[i] < utf8.RuneSelf; i++ {
				d[2*i], d[2*i+1] = s[i], 0
			}
		}
		nSrc += i
		nDst += 2 * i
		if nSrc == len(src) {
			break
		}
		if src[nSrc] < utf8.RuneSelf {
			return nDst, nSrc, transform.ErrShortDst // dst is full
		}
		if !utf8.FullRune(src[nSrc:]) && !atEOF {
			return nDst, nSrc, transform.ErrShortSrc
		}
		r, size := utf8.DecodeRune(src[nSrc:])
		units := [2]uint16{uint16(r), 0}
		n = 1
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			units, n = [2]uint16{uint16(r1), uint16(r2)}, 2
		}
		if nDst+2*n > len(dst) {
			return nDst, nSrc, transform.ErrShortDst
		}
		for _, w := range units[:n] {
			if u.be {
				dst[nDst], dst[nDst+1] = byte(w>>8), byte(w)
			} else {
				dst[nDst], dst[nDst+1] = byte(w), byte(w>>8)
			}
			nDst += 2
		}
		nSrc += size
	}
	return nDst, nSrc, nil
}

// minChunk is the smallest transform buffer: large enough for any single
// character's encoding plus a byte-order mark or escape sequence.
const minChunk = 64

// Read implements [io.Reader].
func (e *EncodeReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if e.d0 < e.d1 {
			n := copy(p, e.dst[e.d0:e.d1])
			e.d0 += n
			return n, nil
		}
		if e.err != nil {
			return 0, e.err
		}
		if cap(e.dst) < max(len(p), minChunk) {
			e.dst = make([]byte, max(len(p), minChunk))
		}
		e.dst = e.dst[:cap(e.dst)]
		e.d0, e.d1 = 0, 0
		atEOF := e.rerr != nil
		if e.s0 < e.s1 || (atEOF && !e.eof) {
			s0 := e.s0
			if err := e.step(atEOF); err != nil {
				e.err = err
				continue
			}
			if e.d1 > 0 || (atEOF && e.s0 != s0) {
				continue
			}
		}
		if atEOF {
			e.err = e.rerr // flushed, or no progress is possible
			continue
		}
		e.fill(len(p))
	}
}

// fill makes one Read of the underlying reader into src.
func (e *EncodeReader) fill(want int) {
	if e.s0 > 0 {
		e.s1 = copy(e.src, e.src[e.s0:e.s1])
		e.s0 = 0
	}
	if size := max(want, minChunk); len(e.src)-e.s1 < size/2 {
		e.src = slices.Grow(e.src[:e.s1], size)[:e.s1+size]
	}
	n, err := e.r.Read(e.src[e.s1:])
	e.s1 += n
	if err != nil {
		e.rerr = err
	}
}

// step transforms buffered input into dst[d1:].
func (e *EncodeReader) step(atEOF bool) error {
	vEnd, bad := -1, false // src[s0:vEnd] is valid UTF-8
	for {
		if vEnd < e.s0 {
			n, b := validPrefix(e.src[e.s0:e.s1], atEOF)
			vEnd, bad = e.s0+n, b
		}
		in := e.src[e.s0:e.s1]
		valid := vEnd - e.s0
		last := atEOF && !bad && valid == len(in)
		nDst, nSrc, err := e.t.Transform(e.dst[e.d1:], in[:valid], last)
		e.d1 += nDst
		e.s0 += nSrc
		e.off += int64(nSrc)
		switch {
		case err == nil && valid < len(in) && bad:
			if !e.replace {
				return &EncodeError{Offset: e.off, Rune: utf8.RuneError, Invalid: true, Charset: e.cs.Name}
			}
			if len(e.dst)-e.d1 < len(e.rep) {
				return nil
			}
			e.d1 += copy(e.dst[e.d1:], e.rep)
			e.s0++
			e.off++
			continue
		case err == nil:
			if last {
				e.eof = true
			}
			return nil
		case errors.Is(err, transform.ErrShortDst), errors.Is(err, transform.ErrShortSrc):
			return nil
		}
		// The character at src[s0] cannot be represented.
		r, size := utf8.DecodeRune(e.src[e.s0:e.s1])
		if !e.replace {
			return &EncodeError{Offset: e.off, Rune: r, Charset: e.cs.Name}
		}
		if len(e.dst)-e.d1 < len(e.rep) {
			return nil
		}
		e.d1 += copy(e.dst[e.d1:], e.rep)
		e.s0 += size
		e.off += int64(size)
	}
}

// validPrefix returns the length of the longest prefix of b that is valid
// UTF-8 and whether it stops at an invalid byte (rather than at the end or,
// before EOF, at an incomplete character that the next read may finish).
func validPrefix(b []byte, atEOF bool) (n int, bad bool) {
	if utf8.Valid(b) {
		return len(b), false
	}
	for n < len(b) {
		if b[n] < utf8.RuneSelf {
			n++
			continue
		}
		r, size := utf8.DecodeRune(b[n:])
		if r == utf8.RuneError && size == 1 {
			if !atEOF && !utf8.FullRune(b[n:]) {
				return n, false
			}
			return n, true
		}
		n += size
	}
	return n, false
}

// DecodeWriter decodes charset bytes written to it and writes the UTF-8
// text to an underlying writer, one Write per Write. Bytes that are not
// valid in the charset become U+FFFD; the first time that happens it calls
// onInvalid with the range of stream offsets of the chunk that held them.
//
// In stream mode a character split across Writes is carried over and
// [DecodeWriter.Close] flushes what remains. In datagram mode every Write is
// complete on its own (and a byte-order mark is looked for in each).
type DecodeWriter struct {
	w         io.Writer
	t         transform.Transformer
	datagram  bool
	onInvalid func(from, to int64)
	warned    bool
	legit     []byte // the charset's encoding of U+FFFD itself
	pend      []byte // an incomplete character carried over
	out       []byte
	off       int64 // stream offset of the next byte to decode
}

// NewDecodeWriter returns a writer that decodes cs into UTF-8 on w.
func NewDecodeWriter(w io.Writer, cs *Charset, datagram bool, onInvalid func(from, to int64)) *DecodeWriter {
	legit, err := cs.enc.NewEncoder().Bytes([]byte("\ufffd"))
	if err != nil {
		legit = nil
	} else if len(legit) > 2 && (bytes.HasPrefix(legit, []byte{0xfe, 0xff}) || bytes.HasPrefix(legit, []byte{0xff, 0xfe})) {
		legit = legit[2:]
	}
	return &DecodeWriter{w: w, t: cs.enc.NewDecoder(), datagram: datagram, onInvalid: onInvalid, legit: legit}
}

// Write implements [io.Writer]. It reports len(p) once the decoded text is
// written.
func (d *DecodeWriter) Write(p []byte) (int, error) {
	if err := d.decode(p, d.datagram); err != nil {
		return 0, err
	}
	if d.datagram {
		d.t.Reset()
	}
	return len(p), nil
}

// Close decodes an incomplete final character (as U+FFFD). It does not
// close the underlying writer.
func (d *DecodeWriter) Close() error {
	if d.datagram {
		return nil
	}
	return d.decode(nil, true)
}

func (d *DecodeWriter) decode(p []byte, atEOF bool) error {
	src := p
	if len(d.pend) > 0 {
		d.pend = append(d.pend, p...)
		src = d.pend
	}
	if cap(d.out) < 2*len(src)+minChunk {
		d.out = make([]byte, 0, 2*len(src)+minChunk)
	}
	out := d.out[:0]
	consumed := 0
	for {
		nDst, nSrc, err := d.t.Transform(out[len(out):cap(out)], src[consumed:], atEOF)
		out = out[:len(out)+nDst]
		consumed += nSrc
		if errors.Is(err, transform.ErrShortDst) {
			out = slices.Grow(out, len(out)+minChunk+2*(len(src)-consumed))
			continue
		}
		if err != nil && !errors.Is(err, transform.ErrShortSrc) {
			// Decoders replace bad input themselves; skip a byte if one does not.
			out = utf8.AppendRune(out, utf8.RuneError)
			consumed++
			if consumed < len(src) {
				continue
			}
		}
		break
	}
	d.out = out
	if !d.warned && d.onInvalid != nil && bytes.Count(out, []byte("\ufffd")) > d.legitCount(src[:consumed]) {
		d.warned = true
		d.onInvalid(d.off, d.off+int64(consumed))
	}
	d.off += int64(consumed)
	rest := src[consumed:]
	if len(rest) > 0 && !atEOF {
		d.pend = append(d.pend[:0], rest...)
	} else {
		d.pend = d.pend[:0]
	}
	if len(out) == 0 {
		return nil
	}
	_, err := d.w.Write(out)
	return err
}

// legitCount counts U+FFFD characters that the input itself encodes.
func (d *DecodeWriter) legitCount(src []byte) int {
	if len(d.legit) == 0 {
		return 0
	}
	return bytes.Count(src, d.legit)
}
