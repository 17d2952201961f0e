package datalog

import (
	"fmt"
	"sync"

	"github.com/plinth-storage/plinth/io/dev"
)

// SalvageStripe reads what can be read of stripe s's data units without
// parity, block by block: for a stripe too damaged to be rebuilt, so that
// the records in its good blocks can still be found. It returns the
// stripe's stream bytes (StripeBytes; zeros where a block is bad) and,
// per stream block of the stripe (N x Unit/4096 of them, in stream
// order), whether its tag checks. err is for a stripe beyond the stream.
func (r *Reader) SalvageStripe(s int64) (p []byte, good []bool, err error) {
	if r.err != nil {
		return nil, nil, r.err
	}
	g := r.g
	if s < 0 || (s+1)*g.stripeBytes > r.end {
		return nil, nil, fmt.Errorf("data log set %d: salvage stripe %d of a %d-byte stream: %w", g.set.ID, s, r.end, ErrRange)
	}
	p = make([]byte, g.stripeBytes)
	good = make([]bool, g.n*g.bpu)
	var wg sync.WaitGroup
	for d := range g.n {
		m := g.set.Members[d]
		if m.Loc.Dev == nil {
			continue
		}
		wg.Go(func() {
			u := dev.AlignedBuffer(g.unit)
			if _, err := m.Loc.Dev.ReadAt(u, g.unitOffset(d, s)); err != nil {
				// One IO failed: try the blocks one by one.
				for j := range g.bpu {
					blk := u[j*BlockSize : (j+1)*BlockSize]
					if _, err := m.Loc.Dev.ReadAt(blk, g.unitOffset(d, s)+int64(j)*BlockSize); err != nil {
						clear(blk)
					}
				}
			}
			for j := range g.bpu {
				blk := u[j*BlockSize : (j+1)*BlockSize]
				if checkBlock(blk, g.set.ID, m.Generation, g.streamBlock(s, d, j)) {
					at := (d*g.bpu + j) * BlockPayload
					copy(p[at:at+BlockPayload], blk[:BlockPayload])
					good[d*g.bpu+j] = true
				}
			}
		})
	}
	wg.Wait()
	return p, good, nil
}
