package fsck

import (
	"errors"
	"fmt"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/internal/human"
	"github.com/plinth-storage/plinth/pool"
	"github.com/plinth-storage/plinth/stripe"
)

// deep is phase 5 (--deep): one pass over every written stripe of every
// set (pool.DeepScan), each read whole and verified, data units against
// their block tags and parity units against the parity of the verified
// data, and every live record in them compared with the index as it goes
// by. Damage is reported once per set, member and kind, with the
// number of stripes and the first; units on a drive that is missing
// (reported by phase 1) are not reported again.
func (c *checker) deep(bar Bar) (string, error) {
	var total int64
	frontiers := make([]int64, len(c.pools))
	for i, p := range c.pools {
		for s, err := range p.Allocator().Sets(c.ctx) {
			if err != nil {
				return "", fmt.Errorf("pool %s: list sets: %w", p.Name(), err)
			}
			frontiers[i] += s.Frontier
		}
		total += frontiers[i]
	}
	var done int64
	var sets, stripes, records, read, onMissing int64
	for i, p := range c.pools {
		agg := &damages{c: c, pool: p.Name(), n: p.Layout().N, byKey: map[damageKey]*damage{}}
		base := done
		res, err := p.DeepScan(c.ctx, func(d, _ int64) { bar.Update(base+d, total) }, func(d pool.StripeDamage) {
			onMissing += agg.add(d)
			c.noteDamage(p.Name(), d)
		})
		if err != nil {
			return "", fmt.Errorf("pool %s: deep scan: %w", p.Name(), err)
		}
		sets, stripes, records, read = sets+res.Sets, stripes+res.Stripes, records+res.Records, read+res.BytesRead
		done = base + frontiers[i]
		agg.report()
		for _, e := range res.Problems {
			if !c.crossSeen[p.Name()+"\x00"+e.Error()] {
				c.add(c.indexFinding(PhaseDeep, p.Name(), e))
			}
		}
	}
	c.r.phase(PhaseDeep).BytesRead = read
	checked := fmt.Sprintf("%d sets, %d stripes (%s of stream, %s from the drives) read once and verified, data and parity; %d live records in them compared with the index",
		sets, stripes, human.IBytes(total), human.IBytes(read), records)
	if onMissing > 0 {
		checked += fmt.Sprintf("; %d units on missing drives read through parity", onMissing)
	}
	return checked, nil
}

// damageKey groups stripe damage.
type damageKey struct {
	set    alloc.SetID
	member int // -1: the stripe as a whole
	kind   string
	live   bool
}

type damage struct {
	first   int64
	stripes int
	member  alloc.Member
	err     error
}

// damages gathers one pool's stripe damage.
type damages struct {
	c     *checker
	pool  string
	n     int // data units per stripe
	byKey map[damageKey]*damage
	order []damageKey
}

// add records a damaged stripe and returns how many of its units were on
// missing drives (not reported: phase 1 reported the drives).
func (a *damages) add(d pool.StripeDamage) int64 {
	var onMissing int64
	note := func(member int, kind string) {
		k := damageKey{set: d.Set, member: member, kind: kind, live: d.Live}
		g := a.byKey[k]
		if g == nil {
			g = &damage{first: d.Stripe, err: d.Err}
			if member >= 0 && member < len(d.Members) {
				g.member = d.Members[member]
			}
			a.byKey[k] = g
			a.order = append(a.order, k)
		}
		g.stripes++
	}
	switch {
	case errors.Is(d.Err, stripe.ErrUnrecoverable):
		note(-1, "unrecoverable")
		return 0
	case d.Err != nil:
		note(-1, "unreadable")
		return 0
	}
	for _, m := range d.Report.Missing {
		if m < len(d.Members) && a.c.missing[int(d.Members[m].Drive)] {
			onMissing++
			continue
		}
		note(m, "missing")
	}
	for _, m := range d.Report.Corrupt {
		note(m, "corrupt")
	}
	for _, m := range d.Report.Mismatch {
		note(m, "mismatch")
	}
	return onMissing
}

// report adds a finding per group.
func (a *damages) report() {
	for _, k := range a.order {
		g := a.byKey[k]
		w := Where{Pool: a.pool, Set: uint64(k.set), Stripe: int64p(g.first)}
		unit := "the stripe"
		if k.member >= 0 {
			w = a.c.atPosition(int(g.member.Drive))
			w.Pool, w.Set, w.Stripe = a.pool, uint64(k.set), int64p(g.first)
			w.Member, w.Segment = intp(k.member), uint32p(g.member.Segment)
			unit = "a data unit"
			if k.member >= a.n {
				unit = "a parity unit"
			}
		}
		where := fmt.Sprintf("%d stripe", g.stripes)
		if g.stripes > 1 {
			where += "s"
		}
		where += fmt.Sprintf(" (the first: stripe %d)", g.first)
		f := Finding{Phase: PhaseDeep, Severity: SevError, Where: w}
		switch k.kind {
		case "unrecoverable":
			f.What = fmt.Sprintf("more units are damaged than parity covers in %s: %v", where, g.err)
			f.Fix = "the records in these stripes cannot be read; fsck --repair moves the objects they belong to to lost+found, by bucket and key"
		case "unreadable":
			f.What = fmt.Sprintf("the set cannot be read from stripe %d on: %v", g.first, g.err)
			f.Fix = "the set's description in the allocator does not fit its segments; fsck --repair (not built yet) will rebuild the allocator's tables"
		case "missing":
			f.What = fmt.Sprintf("%s cannot be read in %s", unit, where)
		case "corrupt":
			if k.member >= a.n {
				f.What = fmt.Sprintf("%s is corrupt (it disagrees with the parity of the verified data) in %s", unit, where)
			} else {
				f.What = fmt.Sprintf("%s is corrupt (its blocks fail their tags) in %s; reads rebuild it from parity", unit, where)
			}
		case "mismatch":
			f.What = fmt.Sprintf("%s was rebuilt from good units yet fails its own check in %s", unit, where)
		}
		if f.Fix == "" {
			f.Fix = "nothing is lost while parity covers it, but the stripe has less redundancy: a scrub on the running node (POST /v1/scrub) queues it and the repair rewrites its live records elsewhere; fsck --repair does the same now"
		}
		if !k.live {
			f.Severity = SevInfo
			f.What += "; the stripe holds nothing live"
			f.Fix = "nothing: the damaged units go when the set is cleaned or released"
		}
		a.c.add(f)
	}
}
