//go:build race

package btree

// raceEnabled: the race detector slows the random tests down several
// times; they run a quarter of their seeds by default.
const raceEnabled = true
