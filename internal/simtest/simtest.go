// Package simtest is the harness of Plinth's seeded simulations (the crash
// tests of wal and btree/store): which seeds run, each as a parallel
// subtest with a watchdog, and how to rerun a failing one. It is imported
// by tests only.
package simtest

import (
	"flag"
	"fmt"
	"runtime/debug"
	"testing"
	"time"
)

// Seeds is a package's seed flags: -<prefix>.seeds, -<prefix>.seed and
// -<prefix>.firstseed.
type Seeds struct {
	pkg, prefix string
	main        int // the default count -<prefix>.seeds scales from
	seeds       *int
	seed        *int64
	first       *uint64
}

// Flags registers the seed flags of the package at path pkg (as given to
// go test, for the rerun hint). main is the default seed count of the
// package's main simulation: -<prefix>.seeds=N runs N seeds of it and
// every other seeded test in proportion to its own default.
func Flags(pkg, prefix string, main int) *Seeds {
	return &Seeds{
		pkg: pkg, prefix: prefix, main: main,
		seeds: flag.Int(prefix+".seeds", 0, fmt.Sprintf("seeded simulations: seeds of the main simulation (default %d, fewer with -short and -race); the others run proportionally", main)),
		seed:  flag.Int64(prefix+".seed", -1, "seeded simulations: run only this seed"),
		first: flag.Uint64(prefix+".firstseed", 1, "seeded simulations: the first seed"),
	}
}

// List returns the seeds a test runs: def of them by default (short with
// -short, a quarter under the race detector), scaled by -<prefix>.seeds, or
// only -<prefix>.seed.
func (s *Seeds) List(def, short int) []uint64 {
	if *s.seed >= 0 {
		return []uint64{uint64(*s.seed)}
	}
	n := def
	switch {
	case *s.seeds > 0:
		n = max(1, *s.seeds*def/s.main)
	case testing.Short():
		n = short
	case RaceEnabled:
		n = max(1, def/4)
	}
	list := make([]uint64, n)
	for i := range list {
		list[i] = *s.first + uint64(i)
	}
	return list
}

// Run runs fn as a parallel subtest per seed of List(def, short). A seed
// that fails says how to rerun just it; one that hangs for 90 seconds (6
// minutes under the race detector) panics, naming itself.
func (s *Seeds) Run(t *testing.T, def, short int, fn func(t *testing.T, seed uint64)) {
	LessGC(t)
	name := t.Name()
	for _, seed := range s.List(def, short) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("seed %d failed; rerun just it with: %s", seed, s.Rerun(name, seed))
				}
			})
			stop := s.Watchdog(name, seed, 90*time.Second)
			defer stop()
			fn(t, seed)
		})
	}
}

// Rerun is the command that runs one seed of a test.
func (s *Seeds) Rerun(test string, seed uint64) string {
	return fmt.Sprintf("go test %s -run '^%s$' -%s.seed=%d -v", s.pkg, test, s.prefix, seed)
}

// Watchdog panics, naming the seed, if it is not stopped within d (four
// times d under the race detector).
func (s *Seeds) Watchdog(test string, seed uint64, d time.Duration) (stop func() bool) {
	if RaceEnabled {
		d *= 4
	}
	return time.AfterFunc(d, func() {
		panic(fmt.Sprintf("%s seed %d hung for %s; rerun just it with: %s", test, seed, d, s.Rerun(test, seed)))
	}).Stop
}

// LessGC makes the garbage collector run less often during t. Simulations
// allocate a lot of short-lived memory (segment writers take 4 MiB
// buffers, the fault injector keeps the pre-image of every write): with
// the default pacing, zeroing and faulting in that memory takes most of
// their time.
func LessGC(t *testing.T) {
	if RaceEnabled {
		return
	}
	old := debug.SetGCPercent(400)
	t.Cleanup(func() { debug.SetGCPercent(old) })
}

// Single reports whether one seed was asked for (-<prefix>.seed), when a
// trace of it is worth printing.
func (s *Seeds) Single() bool { return *s.seed >= 0 }
