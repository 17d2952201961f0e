//go:build !race

package simtest

// RaceEnabled: see race_on.go.
const RaceEnabled = false
