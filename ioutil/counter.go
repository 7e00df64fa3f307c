package ioutil

import (
	"crypto/sha256"
	"hash"
	"io"
	"sync"
	"sync/atomic"
)

// Observer is told about every chunk of a stream as it passes.
type Observer func(p []byte)

// ObserveReader returns a reader that reads from r and hands every chunk
// read to fn before returning it.
func ObserveReader(r io.Reader, fn Observer) io.Reader { return &observedReader{r, fn} }

type observedReader struct {
	r  io.Reader
	fn Observer
}

func (o *observedReader) Read(p []byte) (int, error) {
	n, err := o.r.Read(p)
	if n > 0 {
		o.fn(p[:n])
	}
	return n, err
}

// ObserveWriter returns a writer that hands every chunk to fn and then
// writes it to w, in one Write per Write.
func ObserveWriter(w io.Writer, fn Observer) io.Writer { return &observedWriter{w, fn} }

type observedWriter struct {
	w  io.Writer
	fn Observer
}

func (o *observedWriter) Write(p []byte) (int, error) {
	o.fn(p)
	return o.w.Write(p)
}

// Counter counts bytes; it is safe for concurrent use.
type Counter struct{ n atomic.Int64 }

// Observe adds len(p); it is an [Observer].
func (c *Counter) Observe(p []byte) { c.n.Add(int64(len(p))) }

// Load returns the count.
func (c *Counter) Load() int64 { return c.n.Load() }

// Digest is a running SHA-256 of a stream, safe for concurrent use: one
// goroutine feeds it while another reads the sum.
type Digest struct {
	mu sync.Mutex // guards h and n
	h  hash.Hash
	n  int64
}

// NewDigest returns the digest of an empty stream.
func NewDigest() *Digest { return &Digest{h: sha256.New()} }

// Observe adds p to the digest; it is an [Observer].
func (d *Digest) Observe(p []byte) {
	d.mu.Lock()
	d.h.Write(p)
	d.n += int64(len(p))
	d.mu.Unlock()
}

// Sum returns the SHA-256 of the bytes observed so far and their count.
func (d *Digest) Sum() ([]byte, int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.h.Sum(nil), d.n
}

// Observers combines several observers into one, called in order; nil ones
// are skipped. It returns nil when none is left.
func Observers(fns ...Observer) Observer {
	var keep []Observer
	for _, f := range fns {
		if f != nil {
			keep = append(keep, f)
		}
	}
	switch len(keep) {
	case 0:
		return nil
	case 1:
		return keep[0]
	}
	return func(p []byte) {
		for _, f := range keep {
			f(p)
		}
	}
}

// TeeWriter writes every chunk to w and then to copyTo, one Write each.
// An error from w is returned unchanged (so a closed stdout is still seen
// as EPIPE); an error from copyTo is returned as is too.
func TeeWriter(w, copyTo io.Writer) io.Writer { return &teeWriter{w, copyTo} }

type teeWriter struct{ w, c io.Writer }

func (t *teeWriter) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	if err != nil {
		return n, err
	}
	if _, err := t.c.Write(p); err != nil {
		return n, err
	}
	return n, nil
}
