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
