package fsck

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/pool"
)

// applyPool runs one pool's repairs in order (the accounting first, so
// that the moves and releases after it start from counts that agree with
// the index), then releases the sets the repairs emptied, as the pool's
// committer releases a set whose last live byte a commit takes. Sets that
// were empty before, and whose release the operator declined, stay.
func (p *plan) applyPool(ctx context.Context, st *store.Store, pl *pool.Pool, actions []*action) {
	for _, a := range actions {
		switch a.kind {
		case actPoolRecount:
			fixes, err := pl.Recount(ctx)
			var done []string
			for _, f := range fixes {
				if f.Err == nil {
					done = append(done, f.String())
				}
			}
			p.finish(a, err, fmt.Sprintf("recounted %s from the index: %s", plural(len(done), "set", "sets"), listed(done)))
		case actDuplicates:
			a.detail, a.status = p.dropDuplicates(ctx, st, pl)
		case actLost:
			a.detail, a.status = p.dropLost(ctx, st, pl, a)
		case actStripes:
			n, err := pl.RepairStripes(ctx, a.stripes)
			p.finish(a, err, fmt.Sprintf("moved the live records of %s out of the damaged stripes", plural(n, "stripe", "stripes")))
		case actOrphans:
			released, err := pl.ReleaseEmpty(ctx, a.sets)
			p.finish(a, err, fmt.Sprintf("released %s: %v", plural(len(released), "set", "sets"), released))
		}
	}
	empty, err := pl.EmptySets(ctx)
	if err == nil {
		empty = slices.DeleteFunc(empty, func(id alloc.SetID) bool { return slices.Contains(p.orphans[pl.Name()], id) })
		_, err = pl.ReleaseEmpty(ctx, empty)
	}
	if err != nil {
		p.logf("fsck: pool %s: release the sets the repairs emptied: %v", pl.Name(), err)
	}
}

// dropDuplicates drops the index entries that point at a record whose
// header names another owner (or version, or offset): the record stays
// its owner's; an owner whose data entry is dropped has lost data and goes
// to lost+found, one whose tombstone is dropped stays deleted. The
// records referenced twice are found again on the open pool.
func (p *plan) dropDuplicates(ctx context.Context, st *store.Store, pl *pool.Pool) (string, string) {
	dups, err := pl.Duplicates(ctx)
	if err != nil {
		return p.failed2("find the records referenced twice", err)
	}
	why := map[string]string{}
	var order [][]byte
	for _, d := range dups {
		for _, w := range d.Wrong() {
			if _, ok := why[string(w.Owner)]; ok {
				continue
			}
			order = append(order, w.Owner)
			why[string(w.Owner)] = fmt.Sprintf("%s pointed at the record in set %d at stream offset %d, whose header says it is %s", w, d.Set, d.At, d.Header)
		}
	}
	if len(order) == 0 {
		return "nothing left to drop", actionDone
	}
	return p.drop(ctx, st, pl, order, why)
}

// dropLost moves the owners of the unrecoverable stripes to lost+found.
func (p *plan) dropLost(ctx context.Context, st *store.Store, pl *pool.Pool, a *action) (string, string) {
	why := map[string]string{}
	var order [][]byte
	refs, err := pl.StripeRefs(ctx, a.lost)
	if err != nil {
		return p.failed2("find the objects of the unrecoverable stripes", err)
	}
	for _, r := range refs {
		if _, ok := why[string(r.Owner)]; ok {
			continue
		}
		order = append(order, r.Owner)
		why[string(r.Owner)] = fmt.Sprintf("its record in set %d stripe %d cannot be read: more units of the stripe are damaged than parity covers", r.Set, pl.StripeOf(r.At))
	}
	if len(order) == 0 {
		return "nothing left to move", actionDone
	}
	return p.drop(ctx, st, pl, order, why)
}

// drop takes owners out of the pool's index, the data owners into
// lost+found in the same transaction, and checks that they are gone.
func (p *plan) drop(ctx context.Context, st *store.Store, pl *pool.Pool, owners [][]byte, why map[string]string) (string, string) {
	if err := ensureLostFound(ctx, st); err != nil {
		return p.failed2("create the lost+found listing", err)
	}
	b := store.NewBatch()
	now := time.Now().UTC()
	var lost, tombs []string
	for _, o := range owners {
		info, err := pl.Stat(o)
		switch {
		case errors.Is(err, pool.ErrNotFound):
			tombs = append(tombs, ownerName(o)) // a tombstone, or nothing: no data lost
			continue
		case err != nil:
			return p.failed2("read the index entry of "+ownerName(o), err)
		}
		e := newLostEntry(pl.Name(), o, info.Version, info.Size, why[string(o)], now)
		if err := putLost(b, e); err != nil {
			return p.failed2("record "+ownerName(o)+" in lost+found", err)
		}
		lost = append(lost, ownerName(o))
	}
	dropped, err := pl.DropOwners(ctx, b, owners)
	if err != nil {
		return p.failed2("drop the index entries", err)
	}
	for _, o := range owners {
		if _, err := pl.Stat(o); !errors.Is(err, pool.ErrNotFound) {
			return p.failed2("check the drop", fmt.Errorf("%s is still in the index after the drop (%v)", ownerName(o), err))
		}
	}
	detail := fmt.Sprintf("dropped the index entries of %s", plural(len(dropped), "owner", "owners"))
	if len(lost) > 0 {
		detail += "; to lost+found: " + listed(lost)
	}
	if len(tombs) > 0 {
		detail += "; tombstones dropped: " + listed(tombs)
	}
	p.logf("fsck: repaired: %s", detail)
	return detail, actionDone
}

// failed2 logs a failed step and returns its detail and status.
func (p *plan) failed2(what string, err error) (string, string) {
	p.logf("fsck: repair failed: %s: %v", what, err)
	return fmt.Sprintf("%s: %v", what, err), actionFailed
}
