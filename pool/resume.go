package pool

import (
	"context"
	"errors"
	"fmt"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/datalog"
	"github.com/plinth-storage/plinth/io/dev"
)

// resume takes over the sets that were open when the pool last stopped.
// Stripes may have reached the media after the last commit (written,
// perhaps flushed or torn, never referenced). On a set whose members are
// all zoned the write pointers say how far, and the frontier is advanced
// past them, since a zone cannot be written twice; one such set goes on
// taking the foreground's writes. A set with a conventional member is
// sealed at its frontier: writing on would put new stripes where blocks of
// the unreferenced ones may still lie, with the very tags the new ones
// get (same set, member use and stream position), and a member whose new
// write then failed would serve the old block as valid (found by the
// torture harness, seed 1268). The rest of a sealed set's space comes back
// through the cleaner. The other open sets are sealed. Sealed sets with
// nothing live (a crash came between the commit that emptied them and
// their release) are released.
func (p *Pool) resume(ctx context.Context) error {
	var open, empty []alloc.Set
	for s, err := range p.al.Sets(ctx, alloc.StateOpen, alloc.StateSealed) {
		if err != nil {
			return err
		}
		switch {
		case s.State == alloc.StateOpen:
			open = append(open, s)
		case s.Live == 0:
			empty = append(empty, s)
		}
	}
	for _, s := range open {
		ds := p.dataSet(s)
		end, err := datalog.WrittenEnd(ds)
		if errors.Is(err, datalog.ErrUnknownEnd) {
			end, err = s.Frontier, nil
		}
		if err != nil {
			return fmt.Errorf("set %d: %w", s.ID, err)
		}
		if !allSequential(ds) {
			if err := p.al.Seal(ctx, s.ID); err != nil {
				return fmt.Errorf("set %d: %w", s.ID, err)
			}
			if s.Live == 0 {
				empty = append(empty, s)
			}
			continue
		}
		if end > s.Frontier {
			b := store.NewBatch()
			if err := p.al.Advance(ctx, b, s.ID, end-s.Frontier); err != nil {
				p.al.Abandon(b)
				return fmt.Errorf("set %d: advance past unreferenced stripes: %w", s.ID, err)
			}
			_, err := p.st.Commit(ctx, b)
			p.al.Done(b, err)
			if err != nil {
				return fmt.Errorf("set %d: %w", s.ID, err)
			}
			s.Frontier = end
		}
		w, err := datalog.Resume(ds, end)
		if err == nil && p.fgs[0] == nil && p.writableMembers(ds) {
			fg := &stream{set: s, w: w, flushed: end, advanced: end}
			p.fgs[0] = fg
			fg.io.Lock()
			p.noteLost(fg)
			fg.io.Unlock()
			continue
		}
		if err == nil {
			if ferr := w.Finish(); ferr != nil {
				p.event(Event{Kind: EventIOError, Set: uint64(s.ID), Detail: fmt.Sprintf("finish zones: %v", ferr)})
			}
		} else {
			p.event(Event{Kind: EventIOError, Set: uint64(s.ID), Detail: fmt.Sprintf("resume: %v; sealing the set", err)})
		}
		if err := p.al.Seal(ctx, s.ID); err != nil {
			return fmt.Errorf("set %d: %w", s.ID, err)
		}
		if s.Live == 0 {
			empty = append(empty, s)
		}
	}
	for _, s := range empty {
		if err := p.release(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// allSequential reports whether every member of a set is a sequential
// zone (a missing member counts as one: nothing is written to it).
func allSequential(ds datalog.Set) bool {
	for _, m := range ds.Members {
		if m.Loc.Dev != nil && !m.Loc.Sequential {
			return false
		}
	}
	return true
}

// writableMembers reports whether every member of a set has a device.
func (p *Pool) writableMembers(ds datalog.Set) bool {
	for _, m := range ds.Members {
		if m.Loc.Dev == nil {
			return false
		}
	}
	return true
}

// releaseSet gives a set's segments back to the allocator once no read
// uses them (the gate) and forgets its reader.
func (p *Pool) releaseSet(ctx context.Context, id alloc.SetID) ([]alloc.Member, error) {
	p.gate.Lock()
	defer p.gate.Unlock()
	m, err := p.al.Release(ctx, id)
	p.dropReader(id)
	return m, err
}

// release frees a set in which nothing is live: no read may be using it
// (the gate), and its zones are reset so that they hold nothing and no
// active-zone resource.
func (p *Pool) release(ctx context.Context, s alloc.Set) error {
	ds := p.dataSet(s)
	if _, err := p.releaseSet(ctx, s.ID); err != nil {
		return fmt.Errorf("release set %d: %w", s.ID, err)
	}
	for i, m := range ds.Members {
		if m.Loc.Dev == nil || !m.Loc.Sequential {
			continue
		}
		if z, ok := dev.AsZoned(m.Loc.Dev); ok {
			if err := z.ResetZone(m.Loc.Start); err != nil {
				p.event(Event{Kind: EventIOError, Set: uint64(s.ID), Detail: fmt.Sprintf("member %d (%s): reset zone: %v (reset again when the segment is reused)", i, m.Loc, err)})
			}
		}
	}
	p.stats.setsReleased.Add(1)
	p.event(Event{Kind: EventSetReleased, Set: uint64(s.ID), Detail: fmt.Sprintf("%d bytes written, none live", s.Frontier)})
	return nil
}
