package ioutil

import (
	"bytes"
	"context"
	"io"
	"time"
)

// CRLFReader turns every bare LF of r into CRLF (-C). An LF already preceded
// by CR is left alone, so CRLF input is not doubled; the check spans reads.
type CRLFReader struct {
	r      io.Reader
	prevCR bool   // the last byte of the previous chunk was CR
	buf    []byte // converted bytes not yet returned
	in     []byte
}

// NewCRLFReader returns a reader that converts bare LF to CRLF.
func NewCRLFReader(r io.Reader) *CRLFReader { return &CRLFReader{r: r} }

// Read implements [io.Reader].
func (c *CRLFReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if len(c.buf) == 0 {
		if cap(c.in) < len(p) {
			c.in = make([]byte, len(p))
		}
		n, err := c.r.Read(c.in[:max(len(p)/2, 1)])
		if n == 0 {
			return 0, err
		}
		c.buf = AppendCRLF(c.buf[:0], c.in[:n], c.prevCR)
		c.prevCR = c.in[n-1] == '\r'
		if err != nil && err != io.EOF {
			m := copy(p, c.buf)
			c.buf = c.buf[m:]
			return m, err
		}
	}
	m := copy(p, c.buf)
	c.buf = c.buf[m:]
	return m, nil
}

// AppendCRLF appends src to dst with every bare LF turned into CRLF. prevCR
// says whether the byte before src was CR.
func AppendCRLF(dst, src []byte, prevCR bool) []byte {
	for len(src) > 0 {
		i := bytes.IndexByte(src, '\n')
		if i < 0 {
			return append(dst, src...)
		}
		before := prevCR
		if i > 0 {
			before = src[i-1] == '\r'
		}
		dst = append(dst, src[:i]...)
		if !before {
			dst = append(dst, '\r')
		}
		dst = append(dst, '\n')
		src = src[i+1:]
		prevCR = false
	}
	return dst
}

// LineDelayReader returns r's data one line at a time and sleeps d before
// every line after the first (--delay). Sleeping ends early when ctx ends.
type LineDelayReader struct {
	ctx   context.Context
	r     io.Reader
	d     time.Duration
	buf   []byte
	start int
	end   int
	err   error
	lines int  // complete lines returned
	mid   bool // the last Read ended inside a line
}

// NewLineDelayReader returns a reader that paces lines by d.
func NewLineDelayReader(ctx context.Context, r io.Reader, d time.Duration, bufSize int) *LineDelayReader {
	return &LineDelayReader{ctx: ctx, r: r, d: d, buf: make([]byte, max(bufSize, 1))}
}

// Read implements [io.Reader]: each call returns at most one line.
func (l *LineDelayReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if i := bytes.IndexByte(l.buf[l.start:l.end], '\n'); i >= 0 || l.end-l.start == len(l.buf) || (l.err != nil && l.end > l.start) {
			n := l.end - l.start
			if i >= 0 {
				n = i + 1
			}
			if l.lines > 0 && !l.mid {
				t := time.NewTimer(l.d)
				select {
				case <-t.C:
				case <-l.ctx.Done():
					t.Stop()
					return 0, l.ctx.Err()
				}
			}
			n = copy(p, l.buf[l.start:l.start+n])
			l.start += n
			if i >= 0 && n == i+1 {
				l.lines++
				l.mid = false
			} else {
				l.mid = true
			}
			return n, nil
		}
		if l.err != nil {
			return 0, l.err
		}
		if l.start > 0 {
			copy(l.buf, l.buf[l.start:l.end])
			l.end -= l.start
			l.start = 0
		}
		n, err := l.r.Read(l.buf[l.end:])
		l.end += n
		l.err = err
	}
}
