package pool

import (
	"cmp"
	"context"
	"errors"
	"slices"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/datalog"
)

// CheckWritePointers compares, for every set holding data, the write
// pointer each zoned member's drive reports with the set's frontier in
// the allocator's table (datalog.CheckWritePointers): the kernel's view of
// the zones against Plinth's. A member whose zone holds less than the
// frontier needs goes to problem (its Err wraps
// datalog.ErrBehindWritePointer). It returns the number of members
// compared; conventional members are not (nothing but their blocks' tags
// records how far they were written).
func (p *Pool) CheckWritePointers(ctx context.Context, problem func(MemberProblem)) (int, error) {
	var sets []alloc.Set
	for s, err := range p.al.Sets(ctx, alloc.StateOpen, alloc.StateSealed, alloc.StateCleaning) {
		if err != nil {
			return 0, err
		}
		sets = append(sets, s)
	}
	slices.SortFunc(sets, func(a, b alloc.Set) int { return cmp.Compare(a.ID, b.ID) })
	compared := 0
	for _, s := range sets {
		if err := ctx.Err(); err != nil {
			return compared, err
		}
		n, problems, err := datalog.CheckWritePointers(p.dataSet(s), s.Frontier)
		if err != nil {
			return compared, err
		}
		compared += n
		for _, e := range problems {
			idx := -1
			var me *datalog.MemberError
			if errors.As(e, &me) {
				idx = me.Member
			}
			mp := MemberProblem{Set: s.ID, Index: idx, Err: e}
			if idx >= 0 && idx < len(s.Members) {
				mp.Member = s.Members[idx]
			}
			if problem != nil {
				problem(mp)
			}
		}
	}
	return compared, nil
}
