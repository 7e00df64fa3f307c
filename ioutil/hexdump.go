package ioutil

import (
	"io"
	"sync"
)

// Hexdump logs the traffic of both directions as hexdump lines:
//
//	> 00000000  68 65 6c 6c 6f 0a                                 |hello.|
//	< 00000000  68 69 0a                                          |hi.|
//
// Each line starts with the direction ('>' sent, '<' received) and the
// offset of its first byte within that direction. Every chunk is dumped
// when it passes, as lines of up to 16 bytes, so the log keeps the order
// of the exchange; a chunk that starts mid-row starts a new line at its
// own offset. Fed in one chunk, a direction's lines after the marker are
// exactly those of [encoding/hex.Dump]. It is safe for concurrent use.
type Hexdump struct {
	mu  sync.Mutex // guards w, off and buf
	w   io.Writer
	off [2]int64
	buf []byte
	err error
}

// Directions of a [Hexdump] line.
const (
	Sent     = '>'
	Received = '<'
)

// NewHexdump returns a hexdump log written to w.
func NewHexdump(w io.Writer) *Hexdump { return &Hexdump{w: w} }

// Dump logs p as passing in direction dir ([Sent] or [Received]). The
// first write error is kept and returned by [Hexdump.Err]; logging stops
// there but the traffic goes on.
func (h *Hexdump) Dump(dir byte, p []byte) {
	if len(p) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return
	}
	i := 0
	if dir == Received {
		i = 1
	}
	h.buf = AppendDump(h.buf[:0], dir, h.off[i], p)
	h.off[i] += int64(len(p))
	_, h.err = h.w.Write(h.buf)
}

// Err returns the first error writing the log.
func (h *Hexdump) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// AppendDump appends the hexdump lines of p, whose first byte is at
// offset off, each prefixed by dir and a space.
func AppendDump(b []byte, dir byte, off int64, p []byte) []byte {
	const hexd = "0123456789abcdef"
	for len(p) > 0 {
		n := min(len(p), 16)
		row := p[:n]
		p = p[n:]
		b = append(b, dir, ' ')
		for s := 28; s >= 0; s -= 4 {
			b = append(b, hexd[off>>s&0xf])
		}
		b = append(b, ' ', ' ')
		for j := 0; j < 16; j++ {
			if j < n {
				b = append(b, hexd[row[j]>>4], hexd[row[j]&0xf], ' ')
			} else {
				b = append(b, ' ', ' ', ' ')
			}
			if j == 7 {
				b = append(b, ' ')
			}
		}
		b = append(b, ' ', '|')
		for _, c := range row {
			if c < 32 || c > 126 {
				c = '.'
			}
			b = append(b, c)
		}
		b = append(b, '|', '\n')
		off += int64(n)
	}
	return b
}
