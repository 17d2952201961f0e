package stripe

import (
	"fmt"

	"github.com/klauspost/reedsolomon"
)

// Codec computes and checks the parity of stripes of one layout. It holds
// no per-call state: one Codec may be used by many goroutines at once.
type Codec struct {
	l   Layout
	enc reedsolomon.Encoder // nil when K = 0: there is no parity to compute
}

// New returns the codec of a layout.
func New(l Layout) (*Codec, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	c := &Codec{l: l}
	if l.K == 0 {
		return c, nil
	}
	rows, err := parityMatrix(l.N, l.K)
	if err != nil {
		return nil, err
	}
	enc, err := reedsolomon.New(l.N, l.K,
		// The format's matrix, not the library's choice (package comment).
		reedsolomon.WithCustomMatrix(rows),
		// One goroutine per call: a node codes many stripes at once, so
		// splitting one stripe over goroutines buys no throughput, and the
		// CPU cost of a call stays its elapsed time.
		reedsolomon.WithMaxGoroutines(1),
		// No cache of decode matrices: it grows with every pattern of lost
		// members ever seen, and memory must stay bounded; inverting an
		// N×N matrix (N <= 31) costs little next to decoding the units.
		reedsolomon.WithInversionCache(false),
	)
	if err != nil {
		return nil, fmt.Errorf("stripe: codec for %v: %w", l, err)
	}
	c.enc = enc
	return c, nil
}

// Layout returns the codec's layout.
func (c *Codec) Layout() Layout { return c.l }

// Encode computes the parity units of a stripe from its data units:
// units holds N+K slices of Unit bytes, data then parity, and the parity
// slices are overwritten. A parity slice that overlaps another unit is an
// error: the parity written would not be the parity of the data.
func (c *Codec) Encode(units [][]byte) error {
	if err := c.checkFull(units); err != nil {
		return fmt.Errorf("stripe: encode: %w", err)
	}
	if c.enc == nil {
		return nil
	}
	if err := c.checkOverlap(units, members(c.l.Members())&^members(c.l.N)); err != nil {
		return fmt.Errorf("stripe: encode: %w", err)
	}
	if err := c.enc.Encode(units); err != nil {
		return fmt.Errorf("stripe: encode %v: %w", c.l, err)
	}
	return nil
}

// Verify reports whether the parity units of a full stripe match its data
// units. It checks the code only, not the unit sums.
func (c *Codec) Verify(units [][]byte) (bool, error) {
	if err := c.checkFull(units); err != nil {
		return false, fmt.Errorf("stripe: verify: %w", err)
	}
	if c.enc == nil {
		return true, nil
	}
	ok, err := c.enc.Verify(units)
	if err != nil {
		return false, fmt.Errorf("stripe: verify %v: %w", c.l, err)
	}
	return ok, nil
}

// checkFull checks that units is a whole stripe of this layout.
func (c *Codec) checkFull(units [][]byte) error {
	if len(units) != c.l.Members() {
		return fmt.Errorf("%w: %d units for layout %v", ErrArgument, len(units), c.l)
	}
	for i, u := range units {
		if len(u) != c.l.Unit {
			return fmt.Errorf("%w: unit %d is %d bytes, layout %v", ErrArgument, i, len(u), c.l)
		}
	}
	return nil
}
