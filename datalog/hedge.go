package datalog

import (
	"time"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/stripe"
)

// Hedged reads. In a set with a fail-slow member, every stripe read that
// touches it waits for it. With a hedge, a stripe read whose data units
// have not all arrived by the member's deadline also reads the blocks it
// needs from N other members (rebuildPart: the other data units and as
// many parity units as are late; every member, whole, when that fails)
// and rebuilds the late units from them, taking whichever finishes first:
// the late read or the rebuild. A late
// unit rebuilt this way is not reported as missing (the member is slow,
// not failed: nothing to repair); its read finishes in the background
// into a buffer of its own.

// SetHedge sets the deadline of each member's unit reads (member index ->
// duration; 0: no hedging for that member; negative: do not read the
// member at all, rebuild its units from the others, which keeps a fail-slow
// drive from piling up reads nobody waits for). nil turns hedging off. It
// must be set before the Reader is shared.
func (r *Reader) SetHedge(deadline func(member int) time.Duration) { r.hedge = deadline }

// hedgeDeadline is the deadline of a stripe read over data units
// [dLo, dHi]: the longest of theirs (0 when any is unhedged); skip lists
// the units not to read at all.
func (r *Reader) hedgeDeadline(dLo, dHi int) (d time.Duration, skip []int) {
	if r.hedge == nil {
		return 0, nil
	}
	for i := dLo; i <= dHi; i++ {
		di := r.hedge(i)
		switch {
		case di < 0:
			skip = append(skip, i)
		case di == 0:
			return 0, nil
		default:
			d = max(d, di)
		}
	}
	if d == 0 && len(skip) > 0 {
		d = time.Millisecond // every unit skipped: nothing to wait for
	}
	return d, skip
}

type partResult struct {
	i   int
	ok  bool
	err error
}

// readHedged reads parts (data units of stripe s) with a deadline. It
// returns the stripe's verified data units when a rebuild won (nil when
// every part arrived in time, in which case parts hold the data).
func (r *Reader) readHedged(s int64, parts []unitPart, deadline time.Duration, skip []int, rep *stripe.Report) ([][]byte, error) {
	if len(skip) > 0 {
		jLo, jHi := blockRange(parts)
		if units, err := r.rebuildPart(s, jLo, jHi, skip); err == nil {
			return units, nil
		}
		var rrep stripe.Report
		if units, err := r.degradedSkip(s, &rrep, skip); err == nil {
			mergeReport(rep, &rrep)
			return units, nil
		}
		// Too much else is bad: read the skipped members after all.
	}
	ch := make(chan partResult, len(parts))
	for i := range parts {
		pt := &parts[i]
		// A buffer of its own: a late read may finish after the stripe
		// read returned.
		pt.buf = dev.AlignedBuffer(r.g.unit)
		go func() {
			ok, err := r.readBlocks(s, pt.d, pt.j0, pt.j1, pt.buf)
			ch <- partResult{i: i, ok: ok, err: err}
		}()
	}
	timer := time.NewTimer(deadline)
	defer timer.Stop()
	pending := len(parts)
	done := make([]bool, len(parts))
	take := func(res partResult) {
		parts[res.i].ok, parts[res.i].err, done[res.i] = res.ok, res.err, true
		pending--
	}
	for pending > 0 {
		select {
		case res := <-ch:
			take(res)
			continue
		case <-timer.C:
		}
		break
	}
	if pending == 0 {
		return nil, nil
	}
	// Past the deadline: rebuild the late units from the other members.
	var late []int
	for i, pt := range parts {
		if !done[i] {
			late = append(late, pt.d)
		}
	}
	type rebuilt struct {
		units [][]byte
		rep   stripe.Report
		err   error
	}
	rch := make(chan rebuilt, 1)
	jLo, jHi := blockRange(parts)
	go func() {
		var rrep stripe.Report
		units, err := r.rebuildPart(s, jLo, jHi, late)
		if err != nil {
			units, err = r.degradedSkip(s, &rrep, late)
		}
		rch <- rebuilt{units, rrep, err}
	}()
	for {
		select {
		case res := <-ch:
			take(res)
			if pending == 0 {
				return nil, nil // the late reads won
			}
		case rb := <-rch:
			if rb.err != nil {
				// The rebuild failed (more members bad): wait for the
				// late reads, the way an unhedged read would.
				for pending > 0 {
					take(<-ch)
				}
				return nil, nil
			}
			mergeReport(rep, &rb.rep)
			return rb.units, nil
		}
	}
}

// readStripeHedged is readStripe with a deadline on the data units.
func (r *Reader) readStripeHedged(s, in int64, p []byte, rep *stripe.Report, deadline time.Duration, skip []int, bLo, bHi int) error {
	parts := r.unitParts(nil, bLo, bHi)
	units, err := r.readHedged(s, parts, deadline, skip, rep)
	if err != nil {
		return err
	}
	return r.finishStripe(s, in, p, rep, parts, units, bLo, bHi)
}
