package scan

import "context"

// Engines lists the engines of this platform, the default first.
func Engines() []Engine { return []Engine{EngineDial} }

func runEngine(ctx context.Context, s *scanner, targets []probe, results chan<- []indexed) error {
	return runPortable(ctx, s, targets, results)
}
