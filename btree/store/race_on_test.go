//go:build race

package store

// raceEnabled: the race detector slows the crash simulation down several
// times; the seeded tests run a quarter of their seeds by default.
const raceEnabled = true
