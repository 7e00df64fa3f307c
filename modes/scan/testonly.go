//go:build sockcat_testonly

package scan

import "os"

// In a binary built with -tags sockcat_testonly (benchmarks only; release
// builds never read it), SOCKCAT_TESTONLY_SCAN_ENGINE=poll|dial|epoll picks
// the engine of every scan, so scripts/bench-scan.sh can time the
// fallbacks of macOS, FreeBSD and Windows on Linux.
func init() {
	testEngine = Engine(os.Getenv("SOCKCAT_TESTONLY_SCAN_ENGINE"))
}
