//go:build !linux

package ioutil

import (
	"io"
	"net"
	"sync/atomic"
)

// haveFastCopy reports that this platform has no pipe fast path: pipes take
// the portable copy (copy_portable.go).
const haveFastCopy = false

// copyPipeFast is the Linux pipe fast path (see splice_linux.go); elsewhere
// it declines every pair.
func copyPipeFast(conn net.Conn, local io.Reader, size int, sent *atomic.Int64) (n int64, handled bool, err error) {
	return 0, false, nil
}
