package pool

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/btree/store"
)

// StripeRepair is what RepairStripe found and did.
type StripeRepair struct {
	Pool   string `json:"pool"`
	Set    uint64 `json:"set"`
	Stripe int64  `json:"stripe"`
	// What reading the whole stripe (data and parity, VerifyStripe)
	// found before the repair: the members missing (IO error, no drive),
	// corrupt (failed their checks) and rebuilt from parity.
	Missing []int `json:"missing"`
	Corrupt []int `json:"corrupt"`
	Rebuilt []int `json:"rebuilt"`
	// Sound: nothing was wrong (and, unless forced, nothing was done).
	Sound bool `json:"sound"`
	// VerifyError is the verification's error, when it failed (a stripe
	// with more damage than the parity covers cannot be repaired).
	VerifyError string `json:"verify_error,omitempty"`
	// Rewritten: the stripe's live records were read (through parity
	// where needed) and rewritten elsewhere, the index switched to the
	// copies in one transaction; MovedBytes is their record bytes.
	Rewritten  bool  `json:"rewritten"`
	MovedBytes int64 `json:"moved_bytes"`
	// Dequeued: the stripe was in the repair queue and is not any more.
	Dequeued bool `json:"dequeued,omitempty"`
}

// RepairStripe repairs one stripe of a set now, as the repair queue's
// worker does: it reads the whole stripe and checks data and parity; if
// anything is wrong (or force is set) it rewrites the stripe's live
// records elsewhere, reading them through parity, and switches the index
// to the copies, so that the damaged units hold nothing live; the stripe
// leaves the repair queue. A sound stripe is left alone unless forced.
func (p *Pool) RepairStripe(ctx context.Context, set uint64, st int64, force bool) (StripeRepair, error) {
	out := StripeRepair{Pool: p.name, Set: set, Stripe: st, Missing: []int{}, Corrupt: []int{}, Rebuilt: []int{}}
	if p.inspect {
		return out, ErrReadOnly
	}
	if p.isClosed() {
		return out, ErrClosed
	}
	id := alloc.SetID(set)
	s, err := p.al.Lookup(id)
	if err != nil {
		return out, fmt.Errorf("pool %s: set %d: %w", p.name, set, err)
	}
	written := (s.Frontier + p.sb - 1) / p.sb
	if st < 0 || st >= written {
		return out, fmt.Errorf("%w: pool %s: set %d has %d stripes written (0 to %d), not %d", ErrInvalid, p.name, set, written, written-1, st)
	}
	rep, verr := p.verifyStripe(id, st)
	out.Missing, out.Corrupt, out.Rebuilt = append(out.Missing, rep.Missing...), append(out.Corrupt, rep.Corrupt...), append(out.Rebuilt, rep.Rebuilt...)
	if verr != nil {
		out.VerifyError = verr.Error()
	}
	out.Sound = verr == nil && clean(rep)
	queued, err := p.queued(id, st)
	if err != nil {
		return out, err
	}
	if !out.Sound || force {
		p.clean.run.Lock()
		moved, err := p.relocateStripe(ctx, s, st)
		p.clean.run.Unlock()
		if err != nil {
			return out, fmt.Errorf("pool %s: repair set %d stripe %d: %w", p.name, set, st, err)
		}
		out.Rewritten, out.MovedBytes = true, moved
		p.stats.repaired.Add(1)
		p.event(Event{Kind: EventRepaired, Set: set, Stripe: st, Detail: fmt.Sprintf("operator's repair: %d live record bytes rewritten elsewhere (missing %v, corrupt %v, rebuilt %v)", moved, rep.Missing, rep.Corrupt, rep.Rebuilt)})
	}
	if queued {
		if _, err := p.submit(ctx, op{kind: opRepairDone, set: id, stripe: st}); err != nil {
			return out, fmt.Errorf("pool %s: set %d stripe %d: leave the repair queue: %w", p.name, set, st, err)
		}
		p.forgetRepair(id, st)
		out.Dequeued = true
	}
	return out, nil
}

// queued reports whether a stripe is in the repair queue.
func (p *Pool) queued(id alloc.SetID, st int64) (bool, error) {
	_, ok, err := p.st.Get(p.repairs, repairKey(id, st))
	if err != nil {
		return false, fmt.Errorf("pool %s: repair queue: %w", p.name, err)
	}
	return ok, nil
}

// RepairOwner repairs every stripe holding a record of owner's current
// version (its extents, or its tombstone's record): RepairStripe on each,
// in order. It stops at the first error, returning what was done so far.
func (p *Pool) RepairOwner(ctx context.Context, owner []byte, force bool) ([]StripeRepair, error) {
	if err := checkOwner(owner); err != nil {
		return nil, err
	}
	type key struct {
		set alloc.SetID
		st  int64
	}
	var todo []key
	seen := map[key]bool{}
	add := func(l loc) {
		k := key{l.set, l.off / p.sb}
		if !seen[k] {
			seen[k] = true
			todo = append(todo, k)
		}
	}
	view, err := p.st.View(p.heads, p.extents)
	if err != nil {
		return nil, fmt.Errorf("repair %q: %w", owner, err)
	}
	hv, ok, err := view.Get(p.heads, owner)
	if err == nil && !ok {
		err = ErrNotFound
	}
	var h head
	if err == nil {
		h, err = decodeHead(hv)
	}
	if err == nil && h.state == stateTombstone && h.tomb.set != 0 {
		add(h.tomb)
	}
	if err == nil && h.state == stateData {
		err = p.ownerExtents(view, owner, func(e extent) { add(e.rec) })
	}
	view.Close()
	if err != nil {
		return nil, fmt.Errorf("repair %q: %w", owner, err)
	}
	var out []StripeRepair
	for _, k := range todo {
		r, err := p.RepairStripe(ctx, uint64(k.set), k.st, force)
		if errors.Is(err, alloc.ErrNoSet) {
			continue // cleaned and released since: its records are elsewhere now
		}
		if err != nil {
			return out, fmt.Errorf("repair %q: %w", owner, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// ownerExtents calls fn for each extent of owner in the view.
func (p *Pool) ownerExtents(view *store.View, owner []byte, fn func(extent)) error {
	it, err := view.Iter(p.extents)
	if err != nil {
		return err
	}
	prefix := extentPrefix(owner)
	for ok := it.Seek(prefix); ok && bytes.HasPrefix(it.Key(), prefix); ok = it.Next() {
		_, off, err := parseExtentKey(it.Key())
		if err != nil {
			return err
		}
		e, err := decodeExtent(it.Value(), off)
		if err != nil {
			return fmt.Errorf("extent at %d: %w", off, err)
		}
		fn(e)
	}
	return it.Err()
}
