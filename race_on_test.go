//go:build race

package main

// raceEnabled: the binary under test carries the race detector, whose
// shadow memory adds tens of megabytes to any resident-size check.
const raceEnabled = true
