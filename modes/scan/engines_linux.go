//go:build linux

package scan

import "context"

// Engines lists the engines of this platform, the default first.
func Engines() []Engine { return []Engine{EngineEpoll, EnginePoll, EngineDial} }

func runEngine(ctx context.Context, s *scanner, targets []probe, results chan<- []indexed) error {
	switch s.engine {
	case EngineDial:
		return runPortable(ctx, s, targets, results)
	case EnginePoll:
		return runSockets(ctx, s, targets, results, newPollPoller, false)
	}
	return runSockets(ctx, s, targets, results, newEpollPoller, true)
}
