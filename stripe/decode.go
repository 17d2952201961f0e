package stripe

import "fmt"

// DecodeData rebuilds the data units of a stripe that are missing —
// entries of units that are empty (len 0; a slice with Unit bytes of
// capacity is filled in place) — from the units present, and checks
// nothing: it is for callers that verify what comes back by other means
// (the data log checks every rebuilt block against its own tag, and finds
// a bad parity unit by trying others). Reconstruct is the checked form.
// At least N units must be present; parity units stay as they are.
func (c *Codec) DecodeData(units [][]byte) error {
	if len(units) != c.l.Members() {
		return fmt.Errorf("stripe: decode: %w: %d units for layout %v", ErrArgument, len(units), c.l)
	}
	present := 0
	for i, u := range units {
		switch len(u) {
		case 0:
		case c.l.Unit:
			present++
		default:
			return fmt.Errorf("stripe: decode: %w: unit %d is %d bytes, layout %v", ErrArgument, i, len(u), c.l)
		}
	}
	if present < c.l.N {
		return fmt.Errorf("stripe: decode: %w: %d units present, %d needed", ErrUnrecoverable, present, c.l.N)
	}
	if c.enc == nil { // K = 0: every data unit is present
		return nil
	}
	if err := c.enc.ReconstructData(units); err != nil {
		return fmt.Errorf("stripe: decode: %w", err)
	}
	return nil
}

// DecodeDataPart is DecodeData for the same byte range of every unit (a
// part at the same offset in each, all of one length): Reed-Solomon works
// byte by byte across the units, so bytes [a, b) of the missing data units
// come from bytes [a, b) of N others. A read of a few blocks of a unit on
// a drive that is slow or gone reads and decodes only those blocks.
// Missing entries are empty (a slice with capacity is filled in place).
func (c *Codec) DecodeDataPart(units [][]byte) error {
	if len(units) != c.l.Members() {
		return fmt.Errorf("stripe: decode part: %w: %d units for layout %v", ErrArgument, len(units), c.l)
	}
	present, size := 0, 0
	for i, u := range units {
		switch {
		case len(u) == 0:
		case size != 0 && len(u) != size, len(u) > c.l.Unit:
			return fmt.Errorf("stripe: decode part: %w: unit %d is %d bytes, others %d (layout %v)", ErrArgument, i, len(u), size, c.l)
		default:
			size = len(u)
			present++
		}
	}
	if present < c.l.N {
		return fmt.Errorf("stripe: decode part: %w: %d units present, %d needed", ErrUnrecoverable, present, c.l.N)
	}
	if c.enc == nil {
		return nil
	}
	if err := c.enc.ReconstructData(units); err != nil {
		return fmt.Errorf("stripe: decode part: %w", err)
	}
	return nil
}
