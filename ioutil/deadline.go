package ioutil

import "time"

// ALongTimeAgo, used as a deadline, unblocks pending I/O at once (as package
// net does internally). It is sockcat's one such value: every cancellation
// of a blocked read or write sets it.
var ALongTimeAgo = time.Unix(1, 0)
