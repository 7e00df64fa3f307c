package scan

import "context"

// Engine names a probing engine. The zero value picks the fastest this
// platform has; tests and benchmarks name one to run the fallbacks on Linux.
type Engine string

// The engines. [Engines] lists those of this platform.
const (
	// EngineDefault is epoll on Linux, poll on macOS and FreeBSD, dial on
	// Windows.
	EngineDefault Engine = ""
	// EngineEpoll drives raw non-blocking sockets with epoll and reuses
	// refused sockets and fixed source ports (Linux only).
	EngineEpoll Engine = "epoll"
	// EnginePoll drives non-blocking sockets with poll(2), a fresh socket
	// per probe and SO_ERROR for the outcome (Unix).
	EnginePoll Engine = "poll"
	// EngineDial is a bounded pool of dials through package net (every
	// platform; the engine of Windows).
	EngineDial Engine = "dial"
)

// testEngine, when set, replaces EngineDefault (see testonly.go).
var testEngine Engine

// engineMain runs the chosen engine over targets, then closes results and
// sends the engine's error (or nil) on errc. It cancels ctx on an error so
// the other workers stop.
func engineMain(ctx context.Context, cancel context.CancelFunc, s *scanner, targets []probe, results chan<- []indexed, errc chan<- error) {
	err := runEngine(ctx, s, targets, results)
	if err != nil {
		cancel()
	}
	close(results)
	errc <- err
}
