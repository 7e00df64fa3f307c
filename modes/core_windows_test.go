package modes

import "testing"

// refusedPort needs raw sockets bound without listening; the tests that use
// it run on Unix.
func refusedPort(t *testing.T) int {
	t.Skip("refusedPort: bound, non-listening sockets are made with Unix calls; this test runs on Unix")
	return 0
}
