//go:build race

package seg

// raceEnabled scales the seeded simulations down under the race detector,
// which slows them several times.
const raceEnabled = true
