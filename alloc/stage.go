package alloc

import (
	"context"
	"fmt"
	"slices"

	"github.com/plinth-storage/plinth/btree/store"
)

// hold is a set claimed by a batch that is not done: its committed state
// (base), the state with the batch's changes (cur), and the committed
// entries of its members once a change needs them.
type hold struct {
	owner  *store.Batch
	done   chan struct{} // closed when the hold is released
	staged bool          // the batch holds puts of this set
	base   Set
	cur    Set
	segs   []Segment
}

// Advance stages, in the caller's batch b, the growth of the set's stream
// by n bytes (its frontier). The set must be open and have room.
//
// The caller commits b and then calls Done(b, err) with Commit's result,
// or Abandon(b) if it never commits it. Until then b holds the set: other
// batches staging it wait, or fail with ErrBusy when they already hold
// sets; Seal and Release wait. Stage a set's changes before its Seal.
// ctx bounds the wait.
func (a *Allocator) Advance(ctx context.Context, b *store.Batch, id SetID, n int64) error {
	if n < 0 {
		return fmt.Errorf("advance set %d: %w: %d bytes", id, ErrInvalid, n)
	}
	err := a.stage(ctx, b, id, false, func(s *Set) error {
		switch {
		case s.State != StateOpen:
			return fmt.Errorf("%w: it is %s", ErrState, s.State)
		case n > s.Capacity-s.Frontier:
			return fmt.Errorf("%w: %d bytes past a frontier of %d in a capacity of %d", ErrSetFull, n, s.Frontier, s.Capacity)
		}
		s.Frontier += n
		return nil
	})
	if err != nil {
		return fmt.Errorf("advance set %d: %w", id, err)
	}
	return nil
}

// AddLive stages, in the caller's batch b, a change of the set's live
// bytes: positive for records written (after the Advance that wrote them),
// negative for records deleted or moved. Live bytes stay between 0 and the
// frontier. It updates the members' segment entries too (their share).
// Done, Abandon and the holding rules are Advance's.
func (a *Allocator) AddLive(ctx context.Context, b *store.Batch, id SetID, delta int64) error {
	err := a.stage(ctx, b, id, true, func(s *Set) error {
		switch {
		case delta < -s.Live:
			return fmt.Errorf("%w: %d live bytes less %d would be below zero", ErrInvalid, s.Live, -delta)
		case delta > s.Frontier-s.Live:
			return fmt.Errorf("%w: %d live bytes plus %d would pass the frontier %d", ErrInvalid, s.Live, delta, s.Frontier)
		}
		s.Live += delta
		return nil
	})
	if err != nil {
		return fmt.Errorf("add %d live bytes to set %d: %w", delta, id, err)
	}
	return nil
}

// stage applies change to the set as b sees it and puts the result in b
// (and the members' entries, when segs is true).
func (a *Allocator) stage(ctx context.Context, b *store.Batch, id SetID, segs bool, change func(*Set) error) error {
	if b == nil {
		return fmt.Errorf("%w: no batch", ErrInvalid)
	}
	h, fresh, err := a.claim(ctx, b, id)
	if err != nil {
		return err
	}
	a.mu.Lock()
	next := h.cur
	a.mu.Unlock()
	if err = change(&next); err == nil && segs && h.segs == nil {
		h.segs, err = a.memberEntries(next)
	}
	if err != nil {
		if fresh {
			a.mu.Lock()
			a.unhold(b, id, h)
			a.mu.Unlock()
		}
		return err
	}
	a.mu.Lock()
	h.cur, h.staged = next, true
	a.mu.Unlock()
	b.Put(a.setTree, setKey(id), next.encode())
	if segs {
		share := next.Layout.share(next.Live)
		for _, e := range h.segs {
			e.Live = share
			b.Put(a.segTree, segKey(e.Drive, e.Index), e.encode())
		}
	}
	return nil
}

// claim makes b the holder of set id, waiting while another batch holds
// it, unless b already holds sets (then it fails with ErrBusy: two
// batches each holding a set the other waits for would wait forever).
// fresh reports whether the hold is new.
func (a *Allocator) claim(ctx context.Context, b *store.Batch, id SetID) (h *hold, fresh bool, err error) {
	a.mu.Lock()
	for {
		h = a.holds[id]
		if h == nil {
			break
		}
		if h.owner == b {
			a.mu.Unlock()
			return h, false, nil
		}
		if n := len(a.batches[b]); n > 0 {
			a.mu.Unlock()
			return nil, false, fmt.Errorf("%w: set %d (this batch holds %d other sets; commit it first)", ErrBusy, id, n)
		}
		ch := h.done
		a.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, false, fmt.Errorf("waiting for set %d, staged in another batch: %w", id, ctx.Err())
		}
		a.mu.Lock()
	}
	h = &hold{owner: b, done: make(chan struct{})}
	a.holds[id] = h
	a.batches[b] = append(a.batches[b], id)
	a.mu.Unlock()
	// Nobody else changes the set while b holds it, so what the store says
	// now is its committed state until b is done.
	s, err := a.lookup(id)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		a.unhold(b, id, h)
		return nil, false, err
	}
	h.base, h.cur = s, s
	return h, true, nil
}

// unhold releases b's hold of set id. Called with mu held.
func (a *Allocator) unhold(b *store.Batch, id SetID, h *hold) {
	delete(a.holds, id)
	ids := slices.DeleteFunc(a.batches[b], func(x SetID) bool { return x == id })
	if len(ids) == 0 {
		delete(a.batches, b)
	} else {
		a.batches[b] = ids
	}
	close(h.done)
}

// memberEntries reads the segment entries of a set's members.
func (a *Allocator) memberEntries(s Set) ([]Segment, error) {
	out := make([]Segment, len(s.Members))
	for i := range s.Members {
		e, err := a.memberEntry(s, i)
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

// Done reports the outcome of committing b: err is what store.Commit
// returned. On success the pool's totals take in b's staged changes; on
// failure the commit may or may not have been applied, so the allocator
// recounts its totals from the trees at its next quiet moment. Either way
// b's sets are released.
func (a *Allocator) Done(b *store.Batch, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, id := range slices.Clone(a.batches[b]) {
		h := a.holds[id]
		if h.staged {
			if err != nil {
				a.staleTotals = true
			} else {
				a.tot.add(h.base, -1)
				a.tot.add(h.cur, 1)
			}
		}
		a.unhold(b, id, h)
	}
}

// Abandon releases b's sets without committing: the batch is dropped (or
// its allocator changes must not be committed).
func (a *Allocator) Abandon(b *store.Batch) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, id := range slices.Clone(a.batches[b]) {
		a.unhold(b, id, a.holds[id])
	}
}

// acquire claims a set for one of the allocator's own transactions (whose
// batch holds nothing else, so it waits).
func (a *Allocator) acquire(ctx context.Context, id SetID) (*store.Batch, *hold, error) {
	b := store.NewBatch()
	h, _, err := a.claim(ctx, b, id)
	if err != nil {
		return nil, nil, err
	}
	return b, h, nil
}
