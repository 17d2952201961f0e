package datalog

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/plinth-storage/plinth/io/dev"
)

// errPartRebuild: rebuildPart could not rebuild from its first choice of
// members; the caller falls back to the whole-stripe rebuild, which reads
// every member and tries every choice of parity.
var errPartRebuild = errors.New("part rebuild failed")

// blockRange is the blocks [jLo, jHi] of a unit that parts cover (the
// same blocks of every member are what rebuildPart reads).
func blockRange(parts []unitPart) (jLo, jHi int) {
	jLo, jHi = parts[0].j0, parts[0].j1
	for _, pt := range parts[1:] {
		jLo, jHi = min(jLo, pt.j0), max(jHi, pt.j1)
	}
	return jLo, jHi
}

// rebuildPart rebuilds blocks [jLo, jHi] of the data units in lost
// (members a hedged read gave up on or skips: slow, not failed) from
// the same blocks of just N other members: every other data unit and
// len(lost) parity units. Reed-Solomon works byte by byte across the
// units, so a read of a few blocks reads and decodes a few blocks of each
// source, not whole units, and reads one member fewer than the whole-stripe
// rebuild; parity is not verified (that is the scrub's work, not a
// read's). The returned units are unit-sized, valid in blocks [jLo,
// jHi], for finishStripe. Any failure (a source unreadable or failing its
// tags, a rebuilt block failing its tag) is errPartRebuild. It takes the
// block range, not the parts, because it runs beside the goroutine that
// records the parts' own reads.
func (r *Reader) rebuildPart(s int64, jLo, jHi int, lost []int) ([][]byte, error) {
	g := r.g
	m := len(g.set.Members)
	if jLo < 0 || jHi >= g.bpu || jHi < jLo || len(lost) > g.k {
		return nil, errPartRebuild
	}
	var sources []int
	for d := range g.n {
		if !slices.Contains(lost, d) {
			sources = append(sources, d)
		}
	}
	parity := 0
	for i := g.n; i < m && parity < len(lost); i++ {
		if g.set.Members[i].Loc.Dev != nil && (r.hedge == nil || r.hedge(i) >= 0) {
			sources = append(sources, i)
			parity++
		}
	}
	if parity < len(lost) {
		return nil, errPartRebuild
	}
	lo, hi := jLo*BlockSize, (jHi+1)*BlockSize
	units := make([][]byte, m)
	ok := make([]bool, m)
	var wg sync.WaitGroup
	for _, i := range sources {
		units[i] = dev.AlignedBuffer(g.unit)
		wg.Go(func() {
			if i < g.n {
				good, err := r.readBlocks(s, i, jLo, jHi, units[i][lo:])
				ok[i] = good && err == nil
				return
			}
			mem := g.set.Members[i]
			_, err := mem.Loc.Dev.ReadAt(units[i][lo:hi], g.unitOffset(i, s)+int64(lo))
			ok[i] = err == nil
		})
	}
	for _, d := range lost {
		units[d] = dev.AlignedBuffer(g.unit)
	}
	wg.Wait()
	shards := make([][]byte, m)
	for _, i := range sources {
		if !ok[i] {
			return nil, fmt.Errorf("%w: member %d could not be read or failed its tags", errPartRebuild, i)
		}
		shards[i] = units[i][lo:hi]
	}
	for _, d := range lost {
		shards[d] = units[d][lo:lo]
	}
	if err := r.codec.DecodeDataPart(shards); err != nil {
		return nil, fmt.Errorf("%w: %w", errPartRebuild, err)
	}
	gen := func(d int) uint64 { return g.set.Members[d].Generation }
	for _, d := range lost {
		for j := jLo; j <= jHi; j++ {
			if !checkBlock(units[d][j*BlockSize:(j+1)*BlockSize], g.set.ID, gen(d), g.streamBlock(s, d, j)) {
				return nil, fmt.Errorf("%w: rebuilt block %d of member %d fails its tag", errPartRebuild, j, d)
			}
		}
	}
	return units, nil
}
