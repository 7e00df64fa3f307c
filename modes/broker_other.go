//go:build !linux

package modes

// directWrites is off: every chunk goes through the client's queue and its
// writer goroutine (the portable path, also tested on Linux through
// testOnlyPortableBroker).
const directWrites = false

// writeNow is never called without directWrites.
func (c *bclient) writeNow([]byte) (int, error) { return 0, nil }
