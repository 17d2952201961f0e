//go:build race

package wal

// raceEnabled: the race detector slows the simulation down several times;
// the seeded tests run a quarter of their seeds by default.
const raceEnabled = true
