package fsck

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/pool"
	"github.com/plinth-storage/plinth/stripe"
)

// poolDamage is a damaged stripe of a pool the deep check found and a
// repair can act on.
type poolDamage struct {
	pool string
	d    pool.StripeDamage
}

// noteDamage keeps the deep check's stripe damage that a repair acts on:
// live stripes beyond parity's reach (their owners go to lost+found), and
// live stripes with a corrupt unit, or one that cannot be read on a drive
// that is present (their records are moved). Units on missing drives are
// the rebuild's, not fsck's.
func (c *checker) noteDamage(poolName string, d pool.StripeDamage) {
	if !d.Live {
		return
	}
	if errors.Is(d.Err, stripe.ErrUnrecoverable) || d.Err == nil && c.repairable(d) {
		c.damaged = append(c.damaged, poolDamage{poolName, d})
	}
}

func (c *checker) repairable(d pool.StripeDamage) bool {
	if len(d.Report.Corrupt) > 0 || len(d.Report.Mismatch) > 0 {
		return true
	}
	for _, m := range d.Report.Missing {
		if m >= len(d.Members) || !c.missing[int(d.Members[m].Drive)] {
			return true
		}
	}
	return false
}

// planPool plans one pool's repairs: the live-byte accounting, records
// referenced twice, owners of unrecoverable stripes, damaged stripes,
// orphaned sets.
func (p *plan) planPool(ctx context.Context, c *checker, pl *pool.Pool) {
	name := pl.Name()
	inPool := func(f Finding) bool {
		return f.Where.Pool == name && (f.Phase == PhaseCross || f.Phase == PhaseDeep)
	}
	if fixes, err := pl.LiveFixes(ctx); err != nil {
		p.planFailed("plan the accounting repair of pool "+name, err)
	} else {
		var good []string
		for _, f := range fixes {
			if f.Err == nil {
				good = append(good, f.String())
			}
		}
		if len(good) > 0 {
			p.add(&action{kind: actPoolRecount, pool: name,
				what: fmt.Sprintf("recount the live bytes of %s of pool %s from the index, and their members' shares: %s",
					plural(len(good), "set", "sets"), name, listed(good)),
				covers: func(f Finding) bool {
					return inPool(f) && (strings.Contains(f.What, "live bytes") || strings.Contains(f.What, "share of set"))
				}})
		}
	}
	p.planDuplicates(ctx, pl, inPool)
	p.planDamage(ctx, c, pl, inPool)
	empty, err := pl.EmptySets(ctx)
	if err != nil {
		p.planFailed("plan the release of orphaned space in pool "+name, err)
		return
	}
	p.orphans[name] = empty
	if len(empty) > 0 {
		p.add(&action{kind: actOrphans, pool: name, sets: empty,
			what: fmt.Sprintf("release %s of pool %s that hold nothing live (orphaned space), as a start would: %v", plural(len(empty), "set", "sets"), name, empty),
			covers: func(f Finding) bool {
				return inPool(f) && setIn(f.Where.Set, empty) && strings.Contains(f.What, "orphaned space")
			}})
	}
}

// planDuplicates: a record several index entries point at belongs to the
// owner its own header names; the other entries are dropped, their owners
// lost (to lost+found).
func (p *plan) planDuplicates(ctx context.Context, pl *pool.Pool, inPool func(Finding) bool) {
	dups, err := pl.Duplicates(ctx)
	if err != nil {
		p.planFailed("plan the repair of records referenced twice in pool "+pl.Name(), err)
		return
	}
	var lost, tombs []string
	n := 0
	for _, d := range dups {
		if d.Header == nil {
			continue // undecidable: left as found
		}
		n++
		for _, w := range d.Wrong() {
			if w.Tombstone {
				tombs = append(tombs, ownerName(w.Owner))
			} else {
				lost = append(lost, ownerName(w.Owner))
			}
		}
	}
	if n == 0 {
		return
	}
	what := fmt.Sprintf("drop the index entries of pool %s that point at %s whose own header names another owner, version or offset", pl.Name(), plural(n, "record", "records"))
	if len(lost) > 0 {
		what += "; their objects' data is lost: to lost+found with " + listed(lost)
	}
	if len(tombs) > 0 {
		what += "; tombstones dropped (the objects stay deleted): " + listed(tombs)
	}
	p.add(&action{kind: actDuplicates, pool: pl.Name(), what: what,
		covers: func(f Finding) bool { return inPool(f) && strings.Contains(f.What, "reference the same record") }})
}

// planDamage: the owners of live stripes beyond parity's reach go to
// lost+found; the live records of damaged stripes parity still covers are
// moved (the repair queue's relocation).
func (p *plan) planDamage(ctx context.Context, c *checker, pl *pool.Pool, inPool func(Finding) bool) {
	name := pl.Name()
	lost := map[alloc.SetID][]int64{}
	var refs []pool.StripeRef
	for _, pd := range c.damaged {
		if pd.pool != name {
			continue
		}
		d := pd.d
		if d.Err != nil {
			lost[d.Set] = append(lost[d.Set], d.Stripe)
			continue
		}
		var mask uint64
		for _, m := range slices.Concat(d.Report.Missing, d.Report.Corrupt, d.Report.Mismatch) {
			if m < 64 {
				mask |= 1 << m
			}
		}
		refs = append(refs, pool.StripeRef{Set: d.Set, Stripe: d.Stripe, Members: mask})
	}
	if len(lost) > 0 {
		var names []string
		owners := map[string]bool{}
		rs, err := pl.StripeRefs(ctx, lost)
		if err != nil {
			p.planFailed(fmt.Sprintf("find the objects of the unrecoverable stripes of pool %s", name), err)
		}
		for _, r := range rs {
			if !owners[string(r.Owner)] {
				owners[string(r.Owner)] = true
				names = append(names, ownerName(r.Owner))
			}
		}
		sets := slices.Collect(maps.Keys(lost))
		p.add(&action{kind: actLost, pool: name, lost: lost,
			what: fmt.Sprintf("move %s of pool %s whose data lies in stripes with more damaged units than parity covers to lost+found (their index entries are dropped; the rest of the pool is untouched): %s",
				plural(len(names), "object", "objects"), name, listed(names)),
			covers: func(f Finding) bool {
				return inPool(f) && (setIn(f.Where.Set, sets) && strings.Contains(f.What, "more units are damaged") || owners[f.Where.Owner])
			}})
	}
	if len(refs) > 0 {
		var sets []alloc.SetID
		var where []string
		for _, r := range refs {
			if !slices.Contains(sets, r.Set) {
				sets = append(sets, r.Set)
			}
			where = append(where, fmt.Sprintf("set %d stripe %d", r.Set, r.Stripe))
		}
		p.add(&action{kind: actStripes, pool: name, stripes: refs,
			what: fmt.Sprintf("rebuild %s of pool %s with a damaged data or parity unit: their live records are read back (through parity) and rewritten elsewhere, the index switched to the copies (%s)",
				plural(len(refs), "stripe", "stripes"), name, listed(where)),
			covers: func(f Finding) bool {
				return inPool(f) && f.Phase == PhaseDeep && f.Severity == SevError && f.Where.Member != nil && setIn(f.Where.Set, sets)
			}})
	}
}
