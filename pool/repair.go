package pool

import (
	"context"
	"errors"
	"fmt"

	"github.com/plinth-storage/plinth/alloc"
)

// Repair works the repair queue: each stripe a read found damaged has its
// live records rewritten elsewhere (read back through parity) and the
// index switched to the new copies, after which the damaged units hold
// nothing live. A stripe that cannot be read even with parity stays
// queued and is reported. It returns the number of stripes repaired.
func (p *Pool) Repair(ctx context.Context) error {
	p.clean.run.Lock()
	defer p.clean.run.Unlock()
	type entry struct {
		set    alloc.SetID
		stripe int64
	}
	var todo []entry
	view, err := p.st.View(p.repairs)
	if err != nil {
		return err
	}
	it, err := view.Iter(p.repairs)
	if err != nil {
		view.Close()
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		id, st, err := parseRepairKey(it.Key())
		if err != nil {
			view.Close()
			return err
		}
		todo = append(todo, entry{id, st})
	}
	err = it.Err()
	view.Close()
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range todo {
		s, err := p.al.Lookup(e.set)
		switch {
		case errors.Is(err, alloc.ErrNoSet):
			// Released since: nothing left to repair.
		case err != nil:
			errs = append(errs, err)
			continue
		case p.stripeSound(e.set, e.stripe):
			// Whole again since it was queued (its lost member was
			// rebuilt, or the read error was a passing one): nothing
			// to move.
		default:
			moved, err := p.relocateStripe(ctx, s, e.stripe)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				p.event(Event{Kind: EventError, Set: uint64(e.set), Stripe: e.stripe, Detail: fmt.Sprintf("repair: %v (stays queued)", err)})
				errs = append(errs, fmt.Errorf("repair set %d stripe %d: %w", e.set, e.stripe, err))
				continue
			}
			p.stats.repaired.Add(1)
			p.event(Event{Kind: EventRepaired, Set: uint64(e.set), Stripe: e.stripe, Detail: fmt.Sprintf("%d live record bytes rewritten elsewhere", moved)})
		}
		if _, err := p.submit(ctx, op{kind: opRepairDone, set: e.set, stripe: e.stripe}); err != nil {
			return err
		}
		p.forgetRepair(e.set, e.stripe)
	}
	return errors.Join(errs...)
}

// RepairQueue returns the damaged stripes waiting for repair.
func (p *Pool) RepairQueue() ([]RepairEntry, error) {
	view, err := p.st.View(p.repairs)
	if err != nil {
		return nil, err
	}
	defer view.Close()
	it, err := view.Iter(p.repairs)
	if err != nil {
		return nil, err
	}
	var out []RepairEntry
	for ok := it.First(); ok; ok = it.Next() {
		id, st, err := parseRepairKey(it.Key())
		if err != nil {
			return nil, err
		}
		m, q, err := decodeRepair(it.Value())
		if err != nil {
			return nil, err
		}
		out = append(out, RepairEntry{Set: uint64(id), Stripe: st, Members: m, Queued: q})
	}
	return out, it.Err()
}

// RepairEntry is a damaged stripe waiting for repair.
type RepairEntry struct {
	Set     uint64
	Stripe  int64
	Members uint64 // the members found bad, as a bit mask
	Queued  int64  // Unix nanoseconds
}

// stripeSound reports whether a stripe reads and verifies clean now, every
// member present and matching (VerifyStripe).
func (p *Pool) stripeSound(id alloc.SetID, st int64) bool {
	rep, err := p.verifyStripe(id, st)
	return err == nil && clean(rep)
}
