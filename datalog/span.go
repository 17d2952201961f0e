package datalog

import (
	"fmt"
	"sync"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/stripe"
)

// spanBufs recycles the member buffers of span reads.
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
	reps, errs, err := r.span(p, first, false)
	for i := range reps {
		mergeReport(&rep, &reps[i])
	}
	return rep, errs, err
}

// VerifyStripes is ReadStripes for a deep check: the parity members' share
// of the span is read too (one IO each, at once with the data members'),
// and every stripe's parity is computed from its verified data and
// compared, as VerifyStripe does one stripe at a time. A stripe with any
// damage is read again whole (VerifyStripe's path) for its report. reps
// has one report per stripe.
func (r *Reader) VerifyStripes(p []byte, first int64) (reps []stripe.Report, errs []error, err error) {
	return r.span(p, first, true)
}

// span reads stripes [first, first+len(p)/StripeBytes) of every data
// member, and of every parity member when verifyParity, one IO per
// member, and fills p with the verified payload.
func (r *Reader) span(p []byte, first int64, verifyParity bool) (reps []stripe.Report, errs []error, err error) {
	if r.err != nil {
		return nil, nil, r.err
	}
	g := r.g
	n := int64(len(p)) / g.stripeBytes
	if int64(len(p)) != n*g.stripeBytes || n == 0 {
		return nil, nil, fmt.Errorf("%w: %d bytes are not whole stripes of %d", ErrSet, len(p), g.stripeBytes)
	}
	if first < 0 || (first+n)*g.stripeBytes > r.end {
		return nil, nil, fmt.Errorf("data log set %d: read stripes [%d, %d) of a %d-byte stream: %w", g.set.ID, first, first+n, r.end, ErrRange)
	}
	members := g.n
	if verifyParity {
		members = len(g.set.Members)
	}
	span := int(n) * g.unit
	bufs := make([][]byte, members)
	rerrs := make([]error, members)
	var wg sync.WaitGroup
	for d := range members {
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
	reps = make([]stripe.Report, n)
	errs = make([]error, n)
	units := make([][]byte, members)
	var parity [][]byte // the parity computed from the data, when verifying
	if verifyParity {
		parity = make([][]byte, len(g.set.Members))
		for i := g.n; i < len(parity); i++ {
			parity[i] = make([]byte, g.unit)
		}
	}
	for i := range n {
		s := first + i
		whole := true
		for d := range members {
			units[d] = nil
			if rerrs[d] == nil {
				units[d] = bufs[d][int(i)*g.unit : int(i+1)*g.unit]
			}
			switch {
			case units[d] == nil:
				whole = false
			case d < g.n && !r.checkUnit(units[d], s, d):
				whole = false
			}
		}
		if whole && verifyParity {
			copy(parity, units[:g.n])
			if err := r.codec.Encode(parity); err != nil {
				return nil, nil, fmt.Errorf("data log set %d stripe %d: encode: %w", g.set.ID, s, err)
			}
			for d := g.n; d < members; d++ {
				if string(parity[d]) != string(units[d]) {
					whole = false
				}
			}
		}
		if !whole {
			verified, err := r.degraded(s, &reps[i])
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
	return reps, errs, nil
}
