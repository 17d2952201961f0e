package pool

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/seg"
	"github.com/plinth-storage/plinth/stripe"
)

// StripeDamage is a damaged stripe VerifySets found.
type StripeDamage struct {
	Set    alloc.SetID
	Stripe int64
	// Report names the damaged members (indexes into Members): missing
	// (unreadable, or on a drive that is gone), corrupt (data failing
	// its tags, parity disagreeing with the verified data), rebuilt.
	Report  stripe.Report
	Members []alloc.Member
	// Live: the stripe holds live records. Damage in a stripe holding
	// only dead records costs nothing; it goes when the set is cleaned.
	Live bool
	// Err is set when the stripe could not be verified: more bad units
	// than parity covers (wrapping stripe.ErrUnrecoverable), or a set
	// that cannot be read at all (then the rest of the set is not
	// verified).
	Err error
}

// VerifySets reads every written stripe of every set whole, data and
// parity, and checks both, as Scrub does (datalog.Reader.VerifyStripe),
// but without the cleaner's rate limit and without queuing anything for
// repair: it is the deep check of fsck. Each damaged stripe goes to
// damage (a set whose stripes cannot be read at all, once); progress, when
// set, gets the stream bytes verified so far and their total (the sets'
// frontiers) after each stripe. The error is the context's, or the
// allocator's when the sets cannot be listed.
func (p *Pool) VerifySets(ctx context.Context, progress func(done, total int64), damage func(StripeDamage)) (ScrubResult, error) {
	var res ScrubResult
	var sets []alloc.Set
	var total int64
	for s, err := range p.al.Sets(ctx) {
		if err != nil {
			return res, err
		}
		sets = append(sets, s)
		total += s.Frontier
	}
	slices.SortFunc(sets, func(a, b alloc.Set) int { return cmp.Compare(a.ID, b.ID) })
	var done int64
	var referenced map[stripeKey]bool // built at the first unrecoverable stripe
	for _, s := range sets {
		res.Sets++
		for st := int64(0); st*p.sb < s.Frontier; st++ {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			rep, err := p.verifyStripe(s.ID, st)
			if errors.Is(err, alloc.ErrNoSet) {
				break // released since
			}
			res.Stripes++
			if err != nil && !errors.Is(err, stripe.ErrUnrecoverable) {
				res.Damaged++
				res.Unrecoverable++
				if damage != nil {
					damage(StripeDamage{Set: s.ID, Stripe: st, Members: s.Members, Live: true, Err: err})
				}
				break
			}
			if !clean(rep) || len(rep.Mismatch) > 0 || err != nil {
				d := StripeDamage{Set: s.ID, Stripe: st, Report: rep, Members: s.Members, Live: true, Err: err}
				if err == nil {
					live, lerr := p.stripeLive(ctx, s, st)
					if lerr != nil {
						return res, fmt.Errorf("set %d stripe %d: %w", s.ID, st, lerr)
					}
					d.Live = live
				} else {
					// Its records cannot be read: the index says whether
					// any of them is live.
					if referenced == nil {
						var rerr error
						if referenced, rerr = p.referencedStripes(ctx); rerr != nil {
							return res, fmt.Errorf("set %d stripe %d: %w", s.ID, st, rerr)
						}
					}
					d.Live = referenced[stripeKey{s.ID, st}]
				}
				switch {
				case !d.Live:
					res.DeadDamaged++
				case err != nil:
					res.Damaged++
					res.Unrecoverable++
				default:
					res.Damaged++
				}
				if damage != nil {
					damage(d)
				}
			}
			done += min(p.sb, s.Frontier-st*p.sb)
			if progress != nil {
				progress(done, total)
			}
		}
	}
	return res, nil
}

// MemberProblem is a member segment whose header does not describe its
// use in its set.
type MemberProblem struct {
	Set    alloc.SetID
	Index  int // the member's index in the set
	Member alloc.Member
	Err    error
}

// CheckMembers reads the header of every member segment of every set (one
// block each): it must be a data segment of this node and of the drive it
// is on, of the member's generation, naming the set. A member on a drive
// that is gone is not read, nor one of an open set with nothing written
// yet (a crash may come before its header). progress, when set, gets the
// sets done and their number after each set.
func (p *Pool) CheckMembers(ctx context.Context, progress func(done, total int64), problem func(MemberProblem)) error {
	var sets []alloc.Set
	for s, err := range p.al.Sets(ctx) {
		if err != nil {
			return err
		}
		sets = append(sets, s)
	}
	slices.SortFunc(sets, func(a, b alloc.Set) int { return cmp.Compare(a.ID, b.ID) })
	for i, s := range sets {
		if err := ctx.Err(); err != nil {
			return err
		}
		ds := p.dataSet(s)
		for j, m := range ds.Members {
			if m.Loc.Dev == nil {
				continue
			}
			sc, err := seg.Scan(m.Loc, seg.Expect{Node: m.Node, Drive: m.Drive, Kind: seg.KindData, Generation: m.Generation})
			switch {
			case errors.Is(err, seg.ErrNotWritten) && s.State == alloc.StateOpen && s.Frontier == 0:
				continue
			case err == nil && sc.Header().Set != uint64(s.ID):
				err = fmt.Errorf("%w: the header names set %d", seg.ErrStale, sc.Header().Set)
			}
			if err != nil && problem != nil {
				problem(MemberProblem{Set: s.ID, Index: j, Member: s.Members[j], Err: err})
			}
		}
		if progress != nil {
			progress(int64(i+1), int64(len(sets)))
		}
	}
	return nil
}
