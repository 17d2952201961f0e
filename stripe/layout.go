package stripe

import (
	"errors"
	"fmt"
)

// Limits of a layout; see the package comment for why.
const (
	MaxMembers = 32      // N+K at most
	BlockSize  = 4096    // a unit is a whole number of blocks
	MaxUnit    = 4 << 20 // bytes in a unit at most
)

var (
	// ErrLayout: a Layout outside the limits.
	ErrLayout = errors.New("invalid stripe layout")
	// ErrArgument: units, identities, sums or flags that do not match the
	// codec's layout (wrong count, wrong size, inconsistent identities).
	ErrArgument = errors.New("invalid stripe argument")
)

// Layout is the shape of a stripe: N data units followed by K parity
// units of Unit bytes each, member i of the stripe being unit i.
type Layout struct {
	N, K int
	Unit int
}

// Members returns N+K, the number of units in a stripe.
func (l Layout) Members() int { return l.N + l.K }

// Validate reports whether the layout is within the limits.
func (l Layout) Validate() error {
	switch {
	case l.N < 1:
		return fmt.Errorf("%w %v: at least one data unit is needed", ErrLayout, l)
	case l.K < 0:
		return fmt.Errorf("%w %v: negative parity count", ErrLayout, l)
	case l.N > MaxMembers || l.K > MaxMembers || l.N+l.K > MaxMembers:
		return fmt.Errorf("%w %v: more than %d members", ErrLayout, l, MaxMembers)
	case l.Unit <= 0 || l.Unit%BlockSize != 0:
		return fmt.Errorf("%w %v: unit of %d bytes is not a positive multiple of %d", ErrLayout, l, l.Unit, BlockSize)
	case l.Unit > MaxUnit:
		return fmt.Errorf("%w %v: unit of %d bytes is larger than %d", ErrLayout, l, l.Unit, MaxUnit)
	}
	return nil
}

// String formats the layout as "N+K/unit", e.g. "8+3/128KiB".
func (l Layout) String() string {
	u := fmt.Sprintf("%dB", l.Unit)
	switch {
	case l.Unit > 0 && l.Unit%(1<<20) == 0:
		u = fmt.Sprintf("%dMiB", l.Unit>>20)
	case l.Unit > 0 && l.Unit%(1<<10) == 0:
		u = fmt.Sprintf("%dKiB", l.Unit>>10)
	}
	return fmt.Sprintf("%d+%d/%s", l.N, l.K, u)
}
