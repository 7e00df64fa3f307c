package main

import "errors"

// reserveClosedPort needs a bound, non-listening socket made with Unix
// calls; on Windows the scripts that use it fail with this error.
func reserveClosedPort() (int, func(), error) {
	return 0, nil, errors.New("closedport: not available on Windows")
}
