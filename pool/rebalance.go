package pool

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/plinth-storage/plinth/alloc"
)

// EventMemberMoved: a rebalance moved a member onto an emptier drive.
const EventMemberMoved = "member-moved"

// RebalanceOptions tune a rebalance. Zero values mean the defaults.
type RebalanceOptions struct {
	// Rate bounds the bytes per second a rebalance reads (default 128
	// MiB/s: it is never urgent).
	Rate int64
	// Spread: the rebalance stops once the fullest and the emptiest
	// healthy drive differ by at most this fraction of a drive's data
	// segments (default 0.1).
	Spread float64
	// MaxMoves bounds the members moved in one call (default 1000).
	MaxMoves int
}

// RebalanceResult is what a rebalance did.
type RebalanceResult struct {
	Moves int
	Bytes int64
	// Spread is the fullest minus the emptiest healthy drive's used
	// segments, as a fraction of a drive's data segments, at the end.
	Spread float64
}

// Rebalance moves members of sealed sets from the fullest healthy drives
// onto the emptiest — a drive added or replaced starts empty, and would
// otherwise take new data only — one member at a time, each the way a
// rebuild moves one (the member reconstructed onto a segment of the
// emptier drive, then the set switched to it in one transaction), until
// the drives' use differs by at most Spread. It is rate-limited and can
// be stopped with ctx.
func (p *Pool) Rebalance(ctx context.Context, o RebalanceOptions) (RebalanceResult, error) {
	p.rebuildMu.Lock()
	defer p.rebuildMu.Unlock()
	if o.Rate <= 0 {
		o.Rate = 128 << 20
	}
	if o.Spread <= 0 {
		o.Spread = 0.1
	}
	if o.MaxMoves <= 0 {
		o.MaxMoves = 1000
	}
	wait := paced(o.Rate)
	var res RebalanceResult
	tried := map[[2]uint64]bool{} // (set, target drive) that could not move
	for res.Moves < o.MaxMoves {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		full, empty, spread := p.extremes()
		res.Spread = spread
		if full == nil || spread <= o.Spread {
			return res, nil
		}
		id, member, ok, err := p.movable(ctx, full.Position, empty.Position, tried)
		if err != nil {
			return res, err
		}
		if !ok {
			return res, nil // nothing on the fullest drive can go to the emptiest
		}
		onto := empty.Position
		n, err := p.rebuildMember(ctx, id, member, wait, &onto, nil)
		if err != nil {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			tried[[2]uint64{uint64(id), uint64(onto)}] = true
			if !errors.Is(err, alloc.ErrNoSet) {
				p.event(Event{Kind: EventError, Set: uint64(id), Detail: fmt.Sprintf("rebalance: move member %d to drive %d: %v", member, onto, err)})
			}
			continue
		}
		res.Moves++
		res.Bytes += n
		p.event(Event{Kind: EventMemberMoved, Set: uint64(id), Drive: onto, HasDrive: true,
			Detail: fmt.Sprintf("member %d moved from drive %d to drive %d (%d bytes) to even out the drives", member, full.Position, onto, n)})
	}
	return res, nil
}

// extremes returns the fullest and the emptiest healthy drives and their
// difference in used segments as a fraction of the smaller drive's data
// segments.
func (p *Pool) extremes() (full, empty *alloc.DriveInfo, spread float64) {
	var ds []alloc.DriveInfo
	for _, d := range p.al.Drives() {
		if d.Health == alloc.Online && d.DataSegments > 0 {
			ds = append(ds, d)
		}
	}
	if len(ds) < 2 {
		return nil, nil, 0
	}
	used := func(d alloc.DriveInfo) int { return d.DataSegments - d.Free }
	slices.SortFunc(ds, func(a, b alloc.DriveInfo) int { return used(b) - used(a) })
	f, e := ds[0], ds[len(ds)-1]
	return &f, &e, float64(used(f)-used(e)) / float64(min(f.DataSegments, e.DataSegments))
}

// movable finds a sealed set with a member on drive from and none on
// drive to, not tried before.
func (p *Pool) movable(ctx context.Context, from, to uint32, tried map[[2]uint64]bool) (alloc.SetID, int, bool, error) {
	ids, err := p.al.SetsOn(ctx, from)
	if err != nil {
		return 0, 0, false, err
	}
	for _, id := range ids {
		if tried[[2]uint64{uint64(id), uint64(to)}] {
			continue
		}
		s, err := p.al.Lookup(id)
		if err != nil || s.State != alloc.StateSealed || len(s.Replacing) > 0 {
			continue
		}
		member := -1
		for i, m := range s.Members {
			if m.Drive == to {
				member = -2
				break
			}
			if m.Drive == from {
				member = i
			}
		}
		if member >= 0 {
			return id, member, true, nil
		}
	}
	return 0, 0, false, nil
}

// DriveSpread is how unevenly the healthy drives are used: the fullest
// minus the emptiest drive's used segments, as a fraction of a drive's
// data segments (0 with fewer than two healthy drives).
func (p *Pool) DriveSpread() float64 {
	_, _, spread := p.extremes()
	return spread
}
