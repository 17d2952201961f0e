//go:build race

package simtest

// RaceEnabled: the race detector slows simulations down several times;
// seeded tests run a quarter of their seeds by default.
const RaceEnabled = true
