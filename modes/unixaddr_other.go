//go:build !linux

package modes

import (
	"fmt"
	"runtime"
	"strings"
)

// checkUnixPath reports whether path can name a Unix socket on this
// platform: "@name" (an abstract socket) is Linux-only, so elsewhere it is
// an error for Config.Validate (a usage error, exit 2) rather than a file
// named "@name".
func checkUnixPath(path string) error {
	if strings.HasPrefix(path, "@") {
		return fmt.Errorf("-U %s: abstract Unix sockets (@name) exist only on Linux, not on %s", path, runtime.GOOS)
	}
	return nil
}
