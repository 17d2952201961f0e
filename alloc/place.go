package alloc

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/plinth-storage/plinth/btree/store"
)

// Flags modify NewSet.
type Flags uint8

const (
	// ForCleaner lets the set take the drives' cleaner reserve: the
	// cleaner must be able to move live data out of the sets it frees even
	// when the pool is otherwise full.
	ForCleaner Flags = 1 << iota
)

// NewSet creates an open set of the layout: its members are free segments
// (the lowest of each drive) on distinct drives picked at random, weighted
// by their free segments, so that sets spread over every drive of the pool
// (declustered) and fuller drives fill more slowly. Slow drives are
// avoided: one is picked only when too few online drives can take a
// member (a 4+2 set in a pool of six drives takes every drive). A drive is
// eligible when it is online or slow (not spare), has a free segment
// beyond its cleaner reserve (any free segment, with ForCleaner), and, if
// zoned, has an open zone to spare for the set (open sets and rebuild
// targets each hold one). The set and its members' entries are
// committed in one transaction.
func (a *Allocator) NewSet(ctx context.Context, layout Layout, flags Flags) (Set, error) {
	s, err := a.newSet(ctx, layout, flags)
	if err != nil {
		return Set{}, fmt.Errorf("new %s set: %w", layout, err)
	}
	return s, nil
}

func (a *Allocator) newSet(ctx context.Context, layout Layout, flags Flags) (Set, error) {
	if err := layout.Validate(); err != nil {
		return Set{}, err
	}
	if flags&^ForCleaner != 0 {
		return Set{}, fmt.Errorf("%w: flags %#x", ErrInvalid, flags)
	}
	a.opMu.Lock()
	defer a.opMu.Unlock()
	if err := a.refresh(); err != nil {
		return Set{}, err
	}
	picked, err := a.pick(layout.Width(), flags&ForCleaner != 0)
	if err != nil {
		return Set{}, err
	}
	v, err := a.st.View(a.segTree)
	if err != nil {
		return Set{}, err
	}
	defer v.Close()
	now := a.opts.Now()
	s := Set{ID: a.nextSet, Layout: layout, State: StateOpen, Created: now, Members: make([]Member, len(picked))}
	smallest := int64(0)
	segs := make([]Segment, len(picked))
	for i, d := range picked {
		e, err := a.lowestFree(v, d)
		if err != nil {
			return Set{}, err
		}
		segs[i] = e
		s.Members[i] = Member{Drive: d.Position, Segment: e.Index, Gen: e.Gen}
		if i == 0 || d.SegmentSize < smallest {
			smallest = d.SegmentSize
		}
	}
	s.Capacity = layout.capacity(smallest)
	b := store.NewBatch()
	b.Put(a.setTree, setKey(s.ID), s.encode())
	for _, e := range segs {
		e.State, e.Set, e.Live, e.Time = StateOpen, s.ID, 0, now
		b.Put(a.segTree, segKey(e.Drive, e.Index), e.encode())
	}
	b.Put(a.metaTree, metaKey, metaRecord{NextSet: s.ID + 1}.encode())
	if _, err := a.st.Commit(ctx, b); err != nil {
		a.failed()
		return Set{}, err
	}
	a.nextSet++
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, d := range picked {
		d.free--
		d.open++
		d.hint = segs[i].Index + 1
	}
	a.tot.add(s, 1)
	return s, nil
}

// pick chooses n distinct eligible drives, weighted. Called with opMu
// held (the counters it reads change only under it).
func (a *Allocator) pick(n int, cleaner bool) ([]*drive, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if n > len(a.drives) {
		return nil, fmt.Errorf("%w: %d members need %d drives; the pool has %d", ErrInvalid, n, n, len(a.drives))
	}
	var (
		online, slow   []*drive
		wOnline, wSlow []float64
		why            []string
	)
	for _, d := range a.drives {
		w, reason := a.room(d, cleaner, false)
		switch {
		case reason != "":
			why = append(why, fmt.Sprintf("drive %d %s", d.Position, reason))
		case d.Health == Slow:
			slow, wSlow = append(slow, d), append(wSlow, w)
		default:
			online, wOnline = append(online, d), append(wOnline, w)
		}
	}
	if len(online)+len(slow) < n {
		return nil, fmt.Errorf("%w: need %d drives with a free segment, %d have one: %s", ErrNoSpace, n, len(online)+len(slow), strings.Join(why, ", "))
	}
	out := a.sample(nil, online, wOnline, min(n, len(online)))
	return a.sample(out, slow, wSlow, n-len(out)), nil
}

// sample appends n of cands to out, drawn at random weighted without
// replacement (draw one, drop it, repeat). It consumes cands and weights.
func (a *Allocator) sample(out, cands []*drive, weights []float64, n int) []*drive {
	total := sum(weights)
	for range n {
		i := a.draw(weights, total)
		out = append(out, cands[i])
		total -= weights[i]
		cands = append(cands[:i], cands[i+1:]...)
		weights = append(weights[:i], weights[i+1:]...)
	}
	return out
}

// draw picks an index at random, weighted (total is the sum of the
// weights). Called with opMu held (the random source is under it).
func (a *Allocator) draw(weights []float64, total float64) int {
	r := a.rng.Float64() * total
	i := 0
	for ; i < len(weights)-1; i++ {
		if r < weights[i] {
			break
		}
		r -= weights[i]
	}
	return i
}

// room says whether d can take a segment: a member of a new set, or, with
// target, the target of a replacement (BeginReplace). It returns the
// drive's placement weight (its free segments that may be taken), or why
// it cannot. A drive is eligible when its health
// allows (online or slow; spare too for a target), it has a free segment
// beyond its cleaner reserve (any free segment with cleaner, or on a
// spare drive, which the cleaner never uses), and, if zoned, an open zone
// to spare: open sets and rebuild targets each hold one. Called with mu
// held.
func (a *Allocator) room(d *drive, cleaner, target bool) (float64, string) {
	avail := d.free
	if !cleaner && d.Health != Spare {
		avail -= a.opts.ReserveSegments
	}
	reserve := a.opts.ZoneReserve
	if d.Meta.Holds() {
		reserve += a.opts.MetaZoneReserve
	}
	switch limit := d.zoneLimit(reserve); {
	case target && !d.Health.rebuildable(), !target && !d.Health.allocatable():
		return 0, d.Health.String()
	case d.free == 0:
		return 0, "full"
	case avail <= 0:
		return 0, fmt.Sprintf("has only its cleaner reserve (%d free)", d.free)
	case limit >= 0 && d.zonesHeld() >= limit:
		return 0, fmt.Sprintf("at its open-zone limit (%d open sets, %d rebuild targets, %d of its zones kept for others)", d.open, d.rebuild, reserve)
	}
	return float64(avail), ""
}

// lowestFree finds the free segment of lowest index on d.
func (a *Allocator) lowestFree(v *store.View, d *drive) (Segment, error) {
	it, err := v.Iter(a.segTree)
	if err != nil {
		return Segment{}, err
	}
	a.mu.Lock()
	from, free := d.hint, d.free
	reserved := maps.Clone(d.reserved)
	a.mu.Unlock()
	// From the hint, then (were it ever too high) from the start.
	for _, start := range []uint32{from, 0} {
		for ok := it.Seek(segKey(d.Position, start)); ok; ok = it.Next() {
			e, err := decodeSegment(it.Key(), it.Value())
			if err != nil {
				return Segment{}, err
			}
			if e.Drive != d.Position {
				break
			}
			if e.State == StateFree && !reserved[e.Index] {
				return e, nil
			}
		}
		if err := it.Err(); err != nil {
			return Segment{}, err
		}
		if start == 0 {
			break
		}
	}
	return Segment{}, fmt.Errorf("%w: drive %d counts %d free segments, but the table has none", ErrCorrupt, d.Position, free)
}
