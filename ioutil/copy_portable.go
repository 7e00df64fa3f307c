package ioutil

import (
	"io"
	"net"
	"os"
	"sync/atomic"
)

// DefaultCopyBuffer is the buffer of the portable pipe copy when -B is not
// given (the -B default of the command line).
const DefaultCopyBuffer = 64 << 10

// portableCopy makes Linux take the portable pipe copy instead of its fast
// path. Tests set it to run the transfer tests on the code macOS, FreeBSD
// and Windows run; see also testonly.go.
var portableCopy bool

// copyPipe copies local to conn when local is a pipe (or another
// non-regular file such as a terminal) and conn a stream socket, with the
// default buffer, adding every byte written to sent as it goes (the -v and
// --stats-json counts of an interrupted transfer). See [copyPipeBuffer].
func copyPipe(conn net.Conn, local io.Reader, sent *atomic.Int64) (n int64, handled bool, err error) {
	return copyPipeBuffer(conn, local, 0, sent)
}

// copyPipeBuffer is copyPipe with a read buffer of size bytes (-B; 0 = the
// default of the path taken). It reports handled=false, having done nothing,
// for any other pair, which then go to [io.Copy] (and keep sendfile and
// splice).
func copyPipeBuffer(conn net.Conn, local io.Reader, size int, sent *atomic.Int64) (n int64, handled bool, err error) {
	if !portableCopy {
		if n, handled, err := copyPipeFast(conn, local, size, sent); handled {
			return n, true, err
		}
		if haveFastCopy {
			return 0, false, nil
		}
	}
	f, ok := local.(*os.File)
	if !ok || !isStreamConn(conn) {
		return 0, false, nil
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode().IsRegular() {
		return 0, false, nil // a regular file keeps sendfile through io.Copy
	}
	if size <= 0 {
		size = DefaultCopyBuffer
	}
	n, err = copyBuffered(conn, f, size, sent)
	return n, true, err
}

// copyBuffered copies r to w with reads of at most size bytes, and reports
// the bytes written, also adding them to sent when it is not nil. This is the
// portable copy path: io.Copy would read 32 KiB at a time whatever -B says.
func copyBuffered(w io.Writer, r io.Reader, size int, sent *atomic.Int64) (n int64, err error) {
	buf := make([]byte, size)
	for {
		nr, rerr := r.Read(buf)
		if nr > 0 {
			nw, werr := w.Write(buf[:nr])
			n += int64(nw)
			if sent != nil {
				sent.Add(int64(nw))
			}
			if werr != nil {
				return n, werr
			}
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

// isStreamConn reports whether conn is a TCP or stream Unix socket, by the
// network of its address: datagram sockets keep one read per datagram and
// never come here.
func isStreamConn(conn net.Conn) bool {
	switch c := conn.(type) {
	case *net.TCPConn:
		return true
	case *net.UnixConn:
		return c.LocalAddr() != nil && c.LocalAddr().Network() == "unix"
	}
	return false
}
