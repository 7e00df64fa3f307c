//go:build unix && !linux

package scan

import "context"

// Engines lists the engines of this platform, the default first.
func Engines() []Engine { return []Engine{EnginePoll, EngineDial} }

func runEngine(ctx context.Context, s *scanner, targets []probe, results chan<- []indexed) error {
	if s.engine == EngineDial {
		return runPortable(ctx, s, targets, results)
	}
	return runSockets(ctx, s, targets, results, newPollPoller, false)
}
