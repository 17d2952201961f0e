package datalog

import (
	"bytes"
	"errors"
	"fmt"
	"sync"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/stripe"
)

// This file finds out what the allocator would say of a set, from its
// members alone: for a tool that rebuilds the allocator's tables from the
// drives (the beck tool, tools/beck). A member segment's header names its
// set and generation, not its place in the set; the block tags and the
// parity say the rest.

// ProbeDataMember reads the first block of member m's unit of stripe s,
// in a set of layout l with id set, and returns the data member index d
// whose tag the block carries (stream block (s*N+d)*(Unit/4096)), or -1
// when none does: a parity member, a unit not written in this use of the
// segment, or a damaged one. Only m.Loc and m.Generation are used.
func ProbeDataMember(m Member, set uint64, l stripe.Layout, s int64) (int, error) {
	if err := l.Validate(); err != nil {
		return -1, fmt.Errorf("%w: %v", ErrSet, err)
	}
	blk, err := readFirstBlock(m, l, s)
	if err != nil || blk == nil {
		return -1, err
	}
	bpu := int64(l.Unit / BlockSize)
	for d := range l.N {
		if checkBlock(blk, set, m.Generation, uint64((s*int64(l.N)+int64(d))*bpu)) {
			return d, nil
		}
	}
	return -1, nil
}

// readFirstBlock reads the first block of m's unit of stripe s; nil (and
// no error) when the stripe lies beyond the member's capacity.
func readFirstBlock(m Member, l stripe.Layout, s int64) ([]byte, error) {
	if m.Loc.Dev == nil {
		return nil, ErrNoDevice
	}
	bs := m.Loc.Dev.Geometry().WriteUnit(BlockSize)
	off := bs + s*int64(l.Unit)
	if s < 0 || off+int64(l.Unit) > m.Loc.Capacity {
		return nil, nil
	}
	blk := dev.AlignedBuffer(BlockSize)
	if _, err := m.Loc.Dev.ReadAt(blk, m.Loc.Start+off); err != nil {
		return nil, fmt.Errorf("%s: read stripe %d: %w", m.Loc, s, err)
	}
	return blk, nil
}

// StripeWritten reports whether stripe s of set was written in this use of
// its members: whether the first block of any data unit that can be read
// carries its tag. Members without a device are skipped; a stripe beyond
// the set's capacity is not written.
func StripeWritten(set Set, s int64) (bool, error) {
	g, err := newGeometry(set, false)
	if err != nil {
		return false, err
	}
	if s < 0 || s >= g.stripes {
		return false, nil
	}
	var errs []error
	for d := range g.n {
		m := set.Members[d]
		if m.Loc.Dev == nil {
			continue
		}
		blk := dev.AlignedBuffer(BlockSize)
		if _, err := m.Loc.Dev.ReadAt(blk, g.unitOffset(d, s)); err != nil {
			errs = append(errs, fmt.Errorf("member %d (%s): %w", d, m.Loc, err))
			continue
		}
		if checkBlock(blk, set.ID, m.Generation, g.streamBlock(s, d, 0)) {
			return true, nil
		}
	}
	if len(errs) == g.n {
		return false, fmt.Errorf("data log set %d: stripe %d: %w", set.ID, s, errors.Join(errs...))
	}
	return false, nil
}

// Stripes returns how many stripes set holds (the smallest member's
// share).
func Stripes(set Set) (int64, error) {
	g, err := newGeometry(set, false)
	if err != nil {
		return 0, err
	}
	return g.stripes, nil
}

// ProbeEnd finds the end of a set's stream from its members alone: just
// past the last stripe written in this use (StripeWritten). Stripes are
// written in order, so the written ones are a prefix; the search halves
// the range, then steps over up to lookahead stripes beyond the last one
// found written, so that a few damaged stripes do not cut the stream
// short. The result is a multiple of StripeBytes.
func ProbeEnd(set Set, lookahead int64) (int64, error) {
	n, err := Stripes(set)
	if err != nil {
		return 0, err
	}
	written := func(s int64) (bool, error) { return StripeWritten(set, s) }
	// last is the highest stripe known written, -1 for none.
	last := int64(-1)
	for s := int64(0); s < min(n, lookahead+1); s++ {
		ok, err := written(s)
		if err != nil {
			return 0, err
		}
		if ok {
			last = s
			break
		}
	}
	if last < 0 {
		return 0, nil
	}
	lo, hi := last, n // lo written; nothing known at or above hi
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ok, err := written(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	last = lo
	for s := last + 1; s < n && s <= last+lookahead; s++ {
		ok, err := written(s)
		if err != nil {
			return 0, err
		}
		if ok {
			last = s
		}
	}
	return (last + 1) * StripeBytes(set.Layout), nil
}

// readStripeUnits reads every unit of stripe s that has a device; units
// that could not be read are returned empty.
func readStripeUnits(g *geometry, s int64) [][]byte {
	m := len(g.set.Members)
	units := make([][]byte, m)
	var wg sync.WaitGroup
	for i, mem := range g.set.Members {
		if mem.Loc.Dev == nil {
			continue
		}
		wg.Go(func() {
			b := dev.AlignedBuffer(g.unit)
			if _, err := mem.Loc.Dev.ReadAt(b, g.unitOffset(i, s)); err == nil {
				units[i] = b
			}
		})
	}
	wg.Wait()
	return units
}

// ParityConsistent reports whether the units of stripe s agree with each
// other as the set's members are given: the data units missing are
// rebuilt from N of the units read, parity is computed from the data,
// and every parity unit read must equal it. It checks no tag, so it needs
// no member's generation; known is false when fewer than N+1 units could
// be read (nothing to check against) or the set has no parity.
func ParityConsistent(set Set, s int64) (ok, known bool, err error) {
	g, err := newGeometry(set, false)
	if err != nil {
		return false, false, err
	}
	if s < 0 || s >= g.stripes {
		return false, false, fmt.Errorf("%w: stripe %d of %d", ErrRange, s, g.stripes)
	}
	units := readStripeUnits(g, s)
	read := 0
	for _, u := range units {
		if u != nil {
			read++
		}
	}
	if g.k == 0 || read < g.n+1 {
		return false, false, nil
	}
	codec, err := stripe.New(set.Layout)
	if err != nil {
		return false, false, err
	}
	// Rebuild from the first N units read, then compare everything read.
	work := make([][]byte, len(units))
	used := 0
	for i, u := range units {
		if u != nil && used < g.n {
			work[i] = bytes.Clone(u)
			used++
		}
	}
	for i := range work {
		if work[i] == nil {
			work[i] = make([]byte, 0, g.unit)
		}
	}
	if err := codec.DecodeData(work); err != nil {
		return false, true, nil
	}
	for i := g.n; i < len(work); i++ {
		work[i] = make([]byte, g.unit)
	}
	if err := codec.Encode(work); err != nil {
		return false, false, err
	}
	for i, u := range units {
		if u != nil && !bytes.Equal(u, work[i]) {
			return false, true, nil
		}
	}
	return true, true, nil
}

// RecoverGeneration finds the generation of data member i of set, which
// has no device (a member lost with its drive, whose segment header is
// gone with it): it rebuilds the member's unit of stripe s from the units
// of the others and returns the generation, from 1 to max, whose tag its
// first block carries. The tags of a rebuilt member must carry that
// generation, so nothing can be read through it without. A generation not
// found (a wrong parity order, damaged units, a stripe not written) is an
// error wrapping stripe.ErrUnrecoverable.
func RecoverGeneration(set Set, i int, s int64, max uint64) (uint64, error) {
	g, err := newGeometry(set, false)
	if err != nil {
		return 0, err
	}
	switch {
	case i < 0 || i >= g.n:
		return 0, fmt.Errorf("%w: member %d is not a data member of %d+%d", ErrSet, i, g.n, g.k)
	case set.Members[i].Loc.Dev != nil:
		return 0, fmt.Errorf("%w: member %d has a device: its header says its generation", ErrSet, i)
	case s < 0 || s >= g.stripes:
		return 0, fmt.Errorf("%w: stripe %d of %d", ErrRange, s, g.stripes)
	}
	codec, err := stripe.New(set.Layout)
	if err != nil {
		return 0, err
	}
	units := readStripeUnits(g, s)
	for j := range units {
		if units[j] == nil {
			units[j] = make([]byte, 0, g.unit)
		}
	}
	if err := codec.DecodeData(units); err != nil {
		return 0, fmt.Errorf("data log set %d: member %d: %w", set.ID, i, err)
	}
	blk := units[i][:BlockSize]
	block := g.streamBlock(s, i, 0)
	for gen := uint64(1); gen <= max; gen++ {
		if checkBlock(blk, set.ID, gen, block) {
			return gen, nil
		}
	}
	return 0, fmt.Errorf("data log set %d: member %d: no generation up to %d matches the rebuilt stripe %d: %w",
		set.ID, i, max, s, stripe.ErrUnrecoverable)
}
