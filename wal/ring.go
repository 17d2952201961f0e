package wal

import (
	"errors"
	"fmt"
	"sort"

	"github.com/plinth-storage/plinth/seg"
)

// use is one use of a ring position: a segment's generation and the LSN of
// its first record.
type use struct {
	gen   uint64
	first LSN
}

// position is the journal's view of one ring slot (the same index on every
// mirror).
type position struct {
	use
	// last is the last LSN the position holds, once a later segment has
	// started (the active segment's last is nextLSN-1).
	last LSN
	// inChain: the position holds records the journal still needs.
	inChain bool
}

// readHeaders reads the header of every ring segment on every mirror.
// hdrs[m][i] is the use of position i on mirror m (zero: none). A mirror
// whose drive fails to answer is reported in failed.
func (w *WAL) readHeaders() (hdrs [][]use, failed []error) {
	hdrs = make([][]use, len(w.opts.Mirrors))
	failed = make([]error, len(w.opts.Mirrors))
	for m, mir := range w.opts.Mirrors {
		hdrs[m] = make([]use, len(mir.Ring))
		for i, loc := range mir.Ring {
			s, err := seg.Scan(loc, w.expect(m, 0))
			switch {
			case err == nil:
				h := s.Header()
				hdrs[m][i] = use{gen: h.Generation, first: h.FirstSeq}
			case errors.Is(err, seg.ErrNotWritten), errors.Is(err, seg.ErrStale),
				errors.Is(err, seg.ErrCorrupt), errors.Is(err, seg.ErrUnsupported):
				// Unused, another use's leftovers, or a header whose
				// write did not complete: no records of this journal.
			default:
				failed[m] = fmt.Errorf("read journal segment %d header: %w", i, err)
			}
			if failed[m] != nil {
				break
			}
		}
	}
	return hdrs, failed
}

func (w *WAL) expect(m int, gen uint64) seg.Expect {
	mir := w.opts.Mirrors[m]
	return seg.Expect{Node: mir.Node, Drive: mir.Drive, Kind: seg.KindJournal, Generation: gen}
}

// chain orders the positions in use by first LSN (then generation): the
// journal's segments from oldest to newest.
func chainOrder(ps []position) []int {
	var idx []int
	for i, p := range ps {
		if p.gen != 0 {
			idx = append(idx, i)
		}
	}
	sort.Slice(idx, func(a, b int) bool {
		pa, pb := ps[idx[a]], ps[idx[b]]
		if pa.first != pb.first {
			return pa.first < pb.first
		}
		return pa.gen < pb.gen
	})
	return idx
}
