//go:build race

package stripe

// raceEnabled scales the tests down under the race detector, which slows
// them several times.
const raceEnabled = true
