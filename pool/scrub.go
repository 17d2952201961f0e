package pool

import (
	"cmp"
	"context"
	"errors"
	"slices"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/stripe"
)

// ScrubResult is what a scrub found.
type ScrubResult struct {
	Sets, Stripes int64
	Damaged       int64 // stripes with live records and a missing or corrupt unit (queued for repair)
	Unrecoverable int64 // stripes with more than K bad units
	// DeadDamaged stripes are damaged but hold nothing live (a repair
	// moved their records already): their units go when the set is
	// cleaned or released.
	DeadDamaged int64
}

// Scrub reads every written stripe of every set, data and parity, and
// checks both (datalog.Reader.VerifyStripe): a parity unit no read has
// needed is checked too. A damaged stripe is reported and queued for
// repair as a degraded read's is. It is rate-limited like the cleaner.
// (Scheduling, progress and resumption are the node's business.)
func (p *Pool) Scrub(ctx context.Context) (ScrubResult, error) {
	return p.ScrubFrom(ctx, 0, nil)
}

// ScrubProgress is where a scrub pass stands, after each set.
type ScrubProgress struct {
	LastSet   alloc.SetID // the set just scrubbed: a pass resumes after it
	SetsDone  int64       // sets scrubbed in this call
	SetsTotal int64       // sets this call will scrub
	Result    ScrubResult // what this call found so far
}

// ScrubFrom scrubs, as Scrub does, the sets whose id is above after, in id
// order, calling progress (when not nil) after each set: a caller that
// records LastSet can resume an interrupted pass where it stopped. An
// error from progress stops the pass and is returned.
func (p *Pool) ScrubFrom(ctx context.Context, after alloc.SetID, progress func(ScrubProgress) error) (ScrubResult, error) {
	var res ScrubResult
	var sets []alloc.Set
	for s, err := range p.al.Sets(ctx) {
		if err != nil {
			return res, err
		}
		if s.ID > after {
			sets = append(sets, s)
		}
	}
	slices.SortFunc(sets, func(a, b alloc.Set) int { return cmp.Compare(a.ID, b.ID) })
	for i, s := range sets {
		res.Sets++
		if err := p.scrubSet(ctx, s, &res); err != nil {
			return res, err
		}
		if progress != nil {
			if err := progress(ScrubProgress{LastSet: s.ID, SetsDone: int64(i + 1), SetsTotal: int64(len(sets)), Result: res}); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

// scrubSet verifies every written stripe of one set.
func (p *Pool) scrubSet(ctx context.Context, s alloc.Set, res *ScrubResult) error {
	for st := int64(0); st*p.sb < s.Frontier; st++ {
		if err := p.clean.limiter.WaitN(ctx, int(p.sb)); err != nil {
			return err
		}
		rep, err := p.verifyStripe(s.ID, st)
		if errors.Is(err, alloc.ErrNoSet) {
			return nil // released since
		}
		res.Stripes++
		if err != nil && !errors.Is(err, stripe.ErrUnrecoverable) {
			return err
		}
		if clean(rep) && err == nil {
			continue
		}
		if err == nil {
			live, lerr := p.stripeLive(ctx, s, st)
			if lerr != nil {
				return lerr
			}
			if !live {
				res.DeadDamaged++
				continue
			}
		}
		res.Damaged++
		if err != nil {
			res.Unrecoverable++
		}
		p.damaged(s.ID, st, rep, err)
	}
	return nil
}

func (p *Pool) verifyStripe(id alloc.SetID, st int64) (stripe.Report, error) {
	p.gate.RLock()
	defer p.gate.RUnlock()
	r, err := p.reader(id, (st+1)*p.sb)
	if err != nil {
		// The frontier may end inside the last stripe.
		s, lerr := p.al.Lookup(id)
		if lerr != nil {
			return stripe.Report{}, lerr
		}
		if r, err = p.reader(id, s.Frontier); err != nil {
			return stripe.Report{}, err
		}
	}
	return r.VerifyStripe(st)
}

// stripeLive reports whether any record in stripe st of set s is live.
func (p *Pool) stripeLive(ctx context.Context, s alloc.Set, st int64) (bool, error) {
	from := st * p.sb
	to := min(from+p.sb, s.Frontier)
	buf := p.chunk()
	defer putChunk(buf)
	b := buf[:to-from]
	p.gate.RLock()
	r, err := p.reader(s.ID, to)
	if err == nil {
		_, err = r.ReadAt(b, from)
	}
	p.gate.RUnlock()
	if err != nil {
		return false, err
	}
	recs, err := scanStripe(b, from)
	if err != nil {
		return true, nil // unreadable records: let the repair look
	}
	for _, rc := range recs {
		live, err := p.liveAt(rc, loc{set: s.ID, off: rc.at, len: rc.size()})
		if err != nil || live {
			return true, err
		}
	}
	return false, nil
}
