package datalog

import (
	"fmt"
	"sync"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/stripe"
)

// spanBufs recycles ReadStripes' member buffers.
var spanBufs sync.Pool // *[]byte

// ReadStripes reads whole stripes of the stream into p, which holds a
// whole number of stripes (StripeBytes each), from stripe first on: a
// scan's read. A member's units of consecutive stripes are contiguous on
// its segment, so each data member's share of the span is one IO, all
// data members at once: a span of several stripes makes IOs of several
// units, where a Sequential makes one unit each. Every block's tag is
// checked; a stripe with a unit that cannot be read or fails its tags is
// read again whole and its bad data units rebuilt from parity (as ReadAt
// does). errs has one entry per stripe: nil when its bytes in p are
// verified, else why (stripe.ErrUnrecoverable when more than K units are
// bad). The Report merges every stripe's. err is for a bad argument: p
// not a whole number of stripes, or stripes beyond the stream end
// (ErrRange).
func (r *Reader) ReadStripes(p []byte, first int64) (rep stripe.Report, errs []error, err error) {
	if r.err != nil {
		return rep, nil, r.err
	}
	g := r.g
	n := int64(len(p)) / g.stripeBytes
	if int64(len(p)) != n*g.stripeBytes || n == 0 {
		return rep, nil, fmt.Errorf("%w: %d bytes are not whole stripes of %d", ErrSet, len(p), g.stripeBytes)
	}
	if first < 0 || (first+n)*g.stripeBytes > r.end {
		return rep, nil, fmt.Errorf("data log set %d: read stripes [%d, %d) of a %d-byte stream: %w", g.set.ID, first, first+n, r.end, ErrRange)
	}
	span := int(n) * g.unit
	bufs := make([][]byte, g.n)
	rerrs := make([]error, g.n)
	var wg sync.WaitGroup
	for d := range g.n {
		m := g.set.Members[d]
		if m.Loc.Dev == nil {
			rerrs[d] = errNoDevice
			continue
		}
		bp, _ := spanBufs.Get().(*[]byte)
		if bp == nil || cap(*bp) < span {
			b := dev.AlignedBuffer(span)
			bp = &b
		}
		defer spanBufs.Put(bp)
		bufs[d] = (*bp)[:span]
		wg.Go(func() {
			_, rerrs[d] = m.Loc.Dev.ReadAt(bufs[d], g.unitOffset(d, first))
		})
	}
	wg.Wait()
	errs = make([]error, n)
	units := make([][]byte, g.n)
	for i := range n {
		s := first + i
		whole := true
		for d := range g.n {
			units[d] = nil
			if rerrs[d] == nil {
				units[d] = bufs[d][int(i)*g.unit : int(i+1)*g.unit]
			}
			if units[d] == nil || !r.checkUnit(units[d], s, d) {
				whole = false
			}
		}
		if !whole {
			var srep stripe.Report
			verified, err := r.degraded(s, &srep)
			mergeReport(&rep, &srep)
			if err != nil {
				errs[i] = err
				continue
			}
			copy(units, verified)
		}
		out := p[i*g.stripeBytes : (i+1)*g.stripeBytes]
		for d := range g.n {
			for j := range g.bpu {
				at := (d*g.bpu + j) * BlockPayload
				copy(out[at:at+BlockPayload], units[d][j*BlockSize:j*BlockSize+BlockPayload])
			}
		}
	}
	return rep, errs, nil
}
