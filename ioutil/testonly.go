//go:build sockcat_testonly

package ioutil

import "os"

// In a binary built with -tags sockcat_testonly (benchmarks only; release
// builds never read it), SOCKCAT_TESTONLY_PORTABLE_COPY=1 makes Linux take
// the portable pipe copy, so scripts/bench.sh can time the path of macOS,
// FreeBSD and Windows side by side with the fast path.
func init() {
	portableCopy = os.Getenv("SOCKCAT_TESTONLY_PORTABLE_COPY") == "1"
}
