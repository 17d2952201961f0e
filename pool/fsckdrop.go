package pool

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/btree/store"
)

// LostOwner is an owner fsck's repair took out of the index (its data
// cannot be recovered): what the index said of it.
type LostOwner struct {
	Owner     []byte
	Tombstone bool
	Version   uint64
	Size      int64
}

// DropOwners is fsck's repair of owners whose data is lost: their heads,
// extents and pending tombstones are deleted from the index, and the live
// bytes of the sets their records were in are set to what the rest of the
// index references there, in one transaction with whatever the caller
// already put in b (fsck's lost+found entries). Owners the index does not
// know are skipped. The pool holds still meanwhile (as for Check). It
// returns what the index said of each owner dropped. On error nothing is
// committed.
func (p *Pool) DropOwners(ctx context.Context, b *store.Batch, owners [][]byte) ([]LostOwner, error) {
	if p.inspect {
		return nil, ErrReadOnly
	}
	p.clean.run.Lock()
	defer p.clean.run.Unlock()
	p.commitMu.Lock()
	defer p.commitMu.Unlock()
	view, err := p.st.View(p.heads, p.extents, p.pending)
	if err != nil {
		return nil, err
	}
	defer view.Close()
	skip := map[string]bool{}
	affected := map[alloc.SetID]bool{}
	var lost []LostOwner
	for _, owner := range owners {
		if skip[string(owner)] {
			continue
		}
		ow, err := p.readOwner(view, owner)
		if err != nil {
			return nil, fmt.Errorf("pool %s: drop %q: %w", p.name, owner, err)
		}
		if !ow.exists {
			continue
		}
		skip[string(owner)] = true
		b.Delete(p.heads, owner)
		for _, e := range ow.exts {
			b.Delete(p.extents, extentKey(owner, e.offset))
			affected[e.rec.set] = true
		}
		if ow.head.state == stateTombstone {
			if ow.head.tomb.set == 0 {
				b.Delete(p.pending, owner)
			} else {
				affected[ow.head.tomb.set] = true
			}
		}
		lost = append(lost, LostOwner{Owner: owner, Tombstone: ow.head.state == stateTombstone, Version: ow.head.version, Size: ow.head.size})
	}
	live, err := p.indexLive(ctx, view, skip)
	if err != nil {
		return nil, fmt.Errorf("pool %s: count what is left live: %w", p.name, err)
	}
	for _, id := range slices.Sorted(maps.Keys(affected)) {
		if _, err := p.al.Lookup(id); errors.Is(err, alloc.ErrNoSet) {
			continue // the index pointed at a set that does not exist
		}
		if err := p.al.SetLive(ctx, b, id, live[id]); err != nil {
			p.al.Abandon(b)
			return nil, fmt.Errorf("pool %s: %w", p.name, err)
		}
	}
	_, err = p.st.Commit(ctx, b)
	p.al.Done(b, err)
	if err != nil {
		return nil, fmt.Errorf("pool %s: drop %d owners: %w", p.name, len(lost), err)
	}
	return lost, nil
}

// LiveFix is a set whose live bytes in the allocator disagree with what
// the index references in it, or whose members' shares of them are wrong.
type LiveFix struct {
	Set       alloc.SetID
	Allocator int64 // what the allocator counts
	Index     int64 // what the index references
	Shares    bool  // some member's segment entry holds another share
	// Err is why it cannot be put right (the index references more than
	// the set's frontier, or a set the allocator does not have).
	Err error
}

func (f LiveFix) String() string {
	switch {
	case f.Err != nil:
		return fmt.Sprintf("set %d: %v", f.Set, f.Err)
	case f.Allocator != f.Index:
		return fmt.Sprintf("set %d: %d live bytes in the allocator, %d referenced by the index", f.Set, f.Allocator, f.Index)
	}
	return fmt.Sprintf("set %d: the members' segment entries do not hold their share of its %d live bytes", f.Set, f.Allocator)
}

// LiveFixes compares every set's live bytes, and its members' shares,
// with the record bytes the index references in it (each record once, as
// Check counts). It works on a pool opened read-only too.
func (p *Pool) LiveFixes(ctx context.Context) ([]LiveFix, error) {
	p.clean.run.Lock()
	defer p.clean.run.Unlock()
	p.commitMu.Lock()
	defer p.commitMu.Unlock()
	return p.liveFixes(ctx)
}

func (p *Pool) liveFixes(ctx context.Context) ([]LiveFix, error) {
	view, err := p.st.View(p.heads, p.extents)
	if err != nil {
		return nil, err
	}
	defer view.Close()
	live, err := p.indexLive(ctx, view, nil)
	if err != nil {
		return nil, fmt.Errorf("pool %s: count the live bytes of the index: %w", p.name, err)
	}
	var out []LiveFix
	for s, err := range p.al.Sets(ctx) {
		if err != nil {
			return nil, fmt.Errorf("pool %s: %w", p.name, err)
		}
		f := LiveFix{Set: s.ID, Allocator: s.Live, Index: live[s.ID]}
		delete(live, s.ID)
		ok, err := p.al.SharesAgree(s)
		if err != nil {
			f.Err = err
		}
		f.Shares = !ok
		switch {
		case f.Index > s.Frontier:
			f.Err = fmt.Errorf("%w: the index references %d bytes, beyond its frontier %d", ErrCorrupt, f.Index, s.Frontier)
		case f.Err == nil && f.Allocator == f.Index && !f.Shares:
			continue
		}
		out = append(out, f)
	}
	for id, n := range live {
		out = append(out, LiveFix{Set: id, Index: n, Err: fmt.Errorf("%w: referenced by the index but not in the allocator", ErrCorrupt)})
	}
	slices.SortFunc(out, func(a, b LiveFix) int { return cmp.Compare(a.Set, b.Set) })
	return out, nil
}

// Recount is fsck's repair of the live-byte accounting: every set whose
// live bytes or members' shares disagree with the index (LiveFixes) gets
// the index's count, in one transaction. Sets that cannot be put right are
// left alone and returned with their Err. The pool holds still meanwhile.
// It returns what it found.
func (p *Pool) Recount(ctx context.Context) ([]LiveFix, error) {
	if p.inspect {
		return nil, ErrReadOnly
	}
	p.clean.run.Lock()
	defer p.clean.run.Unlock()
	p.commitMu.Lock()
	defer p.commitMu.Unlock()
	fixes, err := p.liveFixes(ctx)
	if err != nil {
		return nil, err
	}
	b := store.NewBatch()
	for _, f := range fixes {
		if f.Err != nil {
			continue
		}
		if err := p.al.SetLive(ctx, b, f.Set, f.Index); err != nil {
			p.al.Abandon(b)
			return fixes, fmt.Errorf("pool %s: %w", p.name, err)
		}
	}
	if b.Len() == 0 {
		return fixes, nil
	}
	_, err = p.st.Commit(ctx, b)
	p.al.Done(b, err)
	if err != nil {
		return fixes, fmt.Errorf("pool %s: recount the live bytes: %w", p.name, err)
	}
	return fixes, nil
}
