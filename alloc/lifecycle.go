package alloc

import (
	"context"
	"fmt"
	"slices"

	"github.com/plinth-storage/plinth/btree/store"
)

// Seal marks an open set sealed: its stream is complete (the data path has
// written its footers and finished its zones), it no longer holds open
// zones, and the cleaner may pick it. It waits while a batch holds the set.
func (a *Allocator) Seal(ctx context.Context, id SetID) error {
	if err := a.transition(ctx, id, StateOpen, StateSealed); err != nil {
		return fmt.Errorf("seal set %d: %w", id, err)
	}
	return nil
}

// MarkCleaning marks a sealed set as being cleaned, so that the cleaner
// does not pick it twice; Release frees it once its live bytes are moved.
func (a *Allocator) MarkCleaning(ctx context.Context, id SetID) error {
	if err := a.transition(ctx, id, StateSealed, StateCleaning); err != nil {
		return fmt.Errorf("mark set %d cleaning: %w", id, err)
	}
	return nil
}

// transition moves a set and its members from state from to state to.
func (a *Allocator) transition(ctx context.Context, id SetID, from, to State) error {
	b, s, locks, err := a.own(ctx, id)
	if err != nil {
		return err
	}
	defer locks.done()
	if s.State != from {
		return fmt.Errorf("%w: it is %s, not %s", ErrState, s.State, from)
	}
	segs, err := a.memberEntries(s)
	if err != nil {
		return err
	}
	now := a.opts.Now()
	next := s
	next.State = to
	if to == StateSealed {
		next.Sealed = now
	}
	b.Put(a.setTree, setKey(id), next.encode())
	for _, e := range segs {
		e.State, e.Time, e.Live = to, now, s.Layout.share(s.Live)
		b.Put(a.segTree, segKey(e.Drive, e.Index), e.encode())
	}
	if _, err := a.st.Commit(ctx, b); err != nil {
		a.failed()
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tot.add(s, -1)
	a.tot.add(next, 1)
	if from == StateOpen {
		for _, m := range s.Members {
			a.byPos[m.Drive].open--
		}
	}
	return nil
}

// release ends an own transaction's hold.
// own takes set id for a change of its own: the set held (no batch
// stages it meanwhile), opMu held, the counters refreshed. It returns the
// batch to stage the change in, the set as it stands, and the
// transaction's locks: done lets everything go.
func (a *Allocator) own(ctx context.Context, id SetID) (*store.Batch, Set, *ownLocks, error) {
	b, h, err := a.acquire(ctx, id)
	if err != nil {
		return nil, Set{}, nil, err
	}
	a.opMu.Lock()
	l := &ownLocks{a: a, release: func() { a.release(b, id, h) }}
	if err := a.refresh(); err != nil {
		l.done()
		return nil, Set{}, nil, err
	}
	return b, h.base, l, nil
}

// ownLocks are an own transaction's locks: opMu, until detach trades it
// for countMu shared, and its set's hold.
type ownLocks struct {
	a        *Allocator
	detached bool
	release  func()
}

// detach lets opMu go for the rest of the transaction, keeping countMu
// shared instead: other own transactions proceed while this one commits.
// Only a transaction that needs no choice of opMu's to stay valid past
// this point (or that reserved what it chose) may detach.
func (l *ownLocks) detach() {
	l.a.countMu.RLock()
	l.detached = true
	l.a.opMu.Unlock()
}

// done ends the transaction.
func (l *ownLocks) done() {
	if l.detached {
		l.a.countMu.RUnlock()
	} else {
		l.a.opMu.Unlock()
	}
	l.release()
}

func (a *Allocator) release(b *store.Batch, id SetID, h *hold) {
	a.mu.Lock()
	a.unhold(b, id, h)
	a.mu.Unlock()
}

// Release frees a set that holds no live bytes: its entry is deleted and
// its members become free with their generation incremented. It returns
// the members (with the generation of the use that ended), whose zones the
// caller resets; the allocator does no IO on data segments. A segment
// handed out again may not have been reset yet (a crash may come between
// this commit and the reset), so whoever writes a new set resets its
// members first.
//
// A set with pending replacements is released too (a rebuild of a set
// that is no longer needed is pointless): their targets are freed the
// same way and returned after the members, in member order, for reset;
// the rebuild's CommitReplace or AbortReplace then fails with ErrNoSet.
// It waits while a batch holds the set.
func (a *Allocator) Release(ctx context.Context, id SetID) ([]Member, error) {
	ms, err := a.free(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("release set %d: %w", id, err)
	}
	return ms, nil
}

func (a *Allocator) free(ctx context.Context, id SetID) ([]Member, error) {
	b, s, locks, err := a.own(ctx, id)
	if err != nil {
		return nil, err
	}
	defer locks.done()
	if s.Live != 0 {
		return nil, fmt.Errorf("%w: it holds %d live bytes", ErrState, s.Live)
	}
	// A member whose entry names another set is not this set's to free.
	segs, err := a.memberEntries(s)
	if err != nil {
		return nil, err
	}
	freed := slices.Clone(s.Members)
	for _, r := range s.Replacing {
		t, err := a.targetEntry(s, r)
		if err != nil {
			return nil, err
		}
		segs = append(segs, t)
		freed = append(freed, r.Target)
	}
	now := a.opts.Now()
	b.Delete(a.setTree, setKey(id))
	for _, e := range segs {
		e.State, e.Gen, e.Set, e.Live, e.Time = StateFree, e.Gen+1, 0, 0, now
		b.Put(a.segTree, segKey(e.Drive, e.Index), e.encode())
	}
	if _, err := a.st.Commit(ctx, b); err != nil {
		a.failed()
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tot.add(s, -1)
	for i, m := range freed {
		d := a.byPos[m.Drive]
		d.free++
		d.hint = min(d.hint, m.Segment)
		switch {
		case i >= len(s.Members):
			d.rebuild--
		case s.State == StateOpen:
			d.open--
		}
	}
	return freed, nil
}
