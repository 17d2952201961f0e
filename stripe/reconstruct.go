package stripe

import (
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"unsafe"
)

// ErrUnrecoverable: a stripe has too few good members to rebuild what was
// asked for, or what was rebuilt does not match its expected sum.
var ErrUnrecoverable = errors.New("stripe unrecoverable")

// Report says what Reconstruct found. Each list holds member indexes in
// increasing order.
type Report struct {
	// Missing members were not present: not read, drive gone, IO error.
	Missing []int
	// Corrupt members were present but did not match their sums: bit rot,
	// a misdirected unit or a stale one (a sum cannot tell which).
	Corrupt []int
	// Rebuilt members were reconstructed and match their sums.
	Rebuilt []int
	// Mismatch members were reconstructed from members that all matched
	// their sums, yet do not match their own expected sums: the expected
	// sum is wrong (or describes other data). Their buffers, where the
	// caller gave one, are zeroed.
	Mismatch []int
}

func (r Report) String() string {
	var parts []string
	add := func(what string, m []int) {
		if len(m) > 0 {
			parts = append(parts, fmt.Sprintf("%s %v", what, m))
		}
	}
	add("missing", r.Missing)
	add("corrupt", r.Corrupt)
	add("rebuilt", r.Rebuilt)
	add("mismatch", r.Mismatch)
	if len(parts) == 0 {
		return "all members good"
	}
	return strings.Join(parts, ", ")
}

// Reconstruct checks a stripe and rebuilds every member that is missing
// or corrupt.
//
// units, ids, sums and present have one entry per member. present[i]
// false means member i could not be read; its entry in units is either a
// Unit-byte buffer, rebuilt in place, or empty, in which case a new
// buffer is allocated and, once verified, stored in units[i]. A present member must be
// Unit bytes; it is checked against Sum(units[i], ids[i]) == sums[i], and
// a mismatch makes it corrupt, to be rebuilt in place like a missing one.
// ids[i].Member must be i, and every id must name the same set and stripe.
// Buffers must not overlap.
//
// At least N members must be good. Every rebuilt member is checked
// against its expected sum before it is reported rebuilt, so the result is
// right or an error: never wrong data. The error wraps ErrUnrecoverable
// when there are too few good members or a rebuilt one does not match its
// sum, and names the members and why. The Report is returned with the
// error too; on error, only members that were good or are listed in
// Rebuilt hold valid data.
func (c *Codec) Reconstruct(units [][]byte, ids []UnitID, sums [][SumSize]byte, present []bool) (Report, error) {
	return c.reconstruct("reconstruct", units, ids, sums, present, members(c.l.Members()))
}

// ReconstructData is Reconstruct for the data members only: parity members
// are checked but not rebuilt. It serves a degraded read of a whole stripe.
func (c *Codec) ReconstructData(units [][]byte, ids []UnitID, sums [][SumSize]byte, present []bool) (Report, error) {
	return c.reconstruct("reconstruct data", units, ids, sums, present, members(c.l.N))
}

// ReconstructSome is Reconstruct for the members with want[i] set: a
// degraded read of a range wants only the data units the range covers.
// It succeeds when every wanted member is good or rebuilt, however many
// unwanted members are bad; unwanted bad members are left as they are.
// Members a caller did not read are simply not present; at least N of
// the present ones must be good when anything needs rebuilding.
func (c *Codec) ReconstructSome(units [][]byte, ids []UnitID, sums [][SumSize]byte, present, want []bool) (Report, error) {
	if len(want) != c.l.Members() {
		return Report{}, fmt.Errorf("stripe: reconstruct: %w: %d want flags for layout %v", ErrArgument, len(want), c.l)
	}
	var mask uint32
	for i, w := range want {
		if w {
			mask |= 1 << i
		}
	}
	return c.reconstruct("reconstruct", units, ids, sums, present, mask)
}

// members returns the set of members 0..n-1.
func members(n int) uint32 { return uint32(uint64(1)<<n - 1) }

// reconstruct does the work of the three. Member sets are bitmasks: a
// layout has at most 32 members.
func (c *Codec) reconstruct(op string, units [][]byte, ids []UnitID, sums [][SumSize]byte, present []bool, want uint32) (Report, error) {
	var rep Report
	if err := c.checkStripe(units, ids, sums, present); err != nil {
		return rep, fmt.Errorf("stripe: %s: %w", op, err)
	}
	m := c.l.Members()
	var bad uint32
	for i := range m {
		switch {
		case !present[i]:
			rep.Missing = append(rep.Missing, i)
		case Sum(units[i], ids[i]) != sums[i]:
			rep.Corrupt = append(rep.Corrupt, i)
		default:
			continue
		}
		bad |= 1 << i
	}
	need := bad & want
	if need == 0 {
		return rep, nil
	}
	// Formatted only on error: the read path should not pay for it.
	where := func() string {
		return fmt.Sprintf("stripe: %s set %d stripe %d (%v)", op, ids[0].Set, ids[0].Stripe, c.l)
	}
	if good := m - bits.OnesCount32(bad); good < c.l.N {
		return rep, fmt.Errorf("%s: %s: %d good members, %d needed: %w", where(), rep, good, c.l.N, ErrUnrecoverable)
	}
	if err := c.checkOverlap(units, need); err != nil {
		return rep, fmt.Errorf("%s: %w", where(), err)
	}

	// The library takes an empty entry as missing; a Unit-byte buffer
	// sliced to length 0 is rebuilt in place. Bad members not needed are
	// nil, so the library neither reads nor writes them.
	shards := make([][]byte, m)
	required := make([]bool, m)
	for i := range m {
		switch {
		case need&(1<<i) != 0:
			required[i] = true
			if len(units[i]) == c.l.Unit {
				shards[i] = units[i][:0]
			}
		case bad&(1<<i) == 0:
			shards[i] = units[i]
		}
	}
	if err := c.enc.ReconstructSome(shards, required); err != nil {
		return rep, fmt.Errorf("%s: %w", where(), err)
	}

	for i := range m {
		if need&(1<<i) == 0 {
			continue
		}
		out := shards[i]
		if len(out) != c.l.Unit { // cannot happen: the library fills every required member
			return rep, fmt.Errorf("%s: member %d not rebuilt: %w", where(), i, ErrUnrecoverable)
		}
		if Sum(out, ids[i]) != sums[i] {
			// Never leave unverified bytes where a caller might read
			// them; a buffer the library allocated is dropped.
			if len(units[i]) == c.l.Unit {
				clear(units[i])
			}
			rep.Mismatch = append(rep.Mismatch, i)
			continue
		}
		if len(units[i]) == 0 {
			units[i] = out
		} else if unsafe.SliceData(units[i]) != unsafe.SliceData(out) { // the library reuses the buffer; copy if it ever does not
			copy(units[i], out)
		}
		rep.Rebuilt = append(rep.Rebuilt, i)
	}
	if len(rep.Mismatch) > 0 {
		return rep, fmt.Errorf("%s: %s: rebuilt members do not match their expected sums: %w", where(), rep, ErrUnrecoverable)
	}
	return rep, nil
}

// checkStripe checks the shape of Reconstruct's arguments.
func (c *Codec) checkStripe(units [][]byte, ids []UnitID, sums [][SumSize]byte, present []bool) error {
	m := c.l.Members()
	if len(units) != m || len(ids) != m || len(sums) != m || len(present) != m {
		return fmt.Errorf("%w: %d units, %d ids, %d sums, %d present flags for layout %v",
			ErrArgument, len(units), len(ids), len(sums), len(present), c.l)
	}
	for i := range m {
		if n := len(units[i]); n != c.l.Unit && (present[i] || n != 0) {
			return fmt.Errorf("%w: unit %d is %d bytes, layout %v", ErrArgument, i, n, c.l)
		}
		if ids[i].Member != uint32(i) {
			return fmt.Errorf("%w: id %d names member %d", ErrArgument, i, ids[i].Member)
		}
		if ids[i].Set != ids[0].Set || ids[i].Stripe != ids[0].Stripe {
			return fmt.Errorf("%w: id %d is %v, id 0 is %v", ErrArgument, i, ids[i], ids[0])
		}
	}
	return nil
}

// checkOverlap checks that no member to be rebuilt in place shares memory
// with another member: decoding would then change its own input, or a
// unit already checked, behind the sums' back.
func (c *Codec) checkOverlap(units [][]byte, need uint32) error {
	for i, u := range units {
		if need&(1<<i) == 0 || len(u) == 0 {
			continue
		}
		for j, v := range units {
			if j != i && overlap(u, v) {
				return fmt.Errorf("%w: units %d and %d overlap", ErrArgument, i, j)
			}
		}
	}
	return nil
}

// overlap reports whether two slices share any byte.
func overlap(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	pa, pb := uintptr(unsafe.Pointer(unsafe.SliceData(a))), uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return pa < pb+uintptr(len(b)) && pb < pa+uintptr(len(a))
}
