package stripe

import (
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/minio/highwayhash"
)

// SumKey is the HighwayHash key of unit sums. It is part of the format and
// never changes. A constant, so that nothing can modify it.
const SumKey = "plinth stripe unit checksum v1.!"

// SumSize is the size of a unit sum in bytes.
const SumSize = 16

// UnitID is where a unit belongs: its set, its stripe in the set, its
// member (position in the stripe: data units 0..N-1, then parity units
// N..N+K-1) and the generation of the member segment it was written to.
// A unit's sum is bound to it, so a unit read from the wrong place, or
// left from an earlier use of the segment, fails its check even when its
// bytes are intact.
type UnitID struct {
	Set        uint64
	Stripe     uint64
	Member     uint32
	Generation uint64
}

func (id UnitID) String() string {
	return fmt.Sprintf("set %d stripe %d member %d gen %d", id.Set, id.Stripe, id.Member, id.Generation)
}

// idLen is the size of the identity block hashed before the unit: exactly
// one HighwayHash block, so the unit's bytes are hashed in place from an
// aligned state.
const idLen = 32

// digests recycles HighwayHash states: Sum runs for every unit read and
// written, and a fresh state per call would allocate.
var digests = sync.Pool{New: func() any {
	d, err := highwayhash.NewDigest128([]byte(SumKey))
	if err != nil { // only for a key that is not 32 bytes, which SumKey is
		panic("stripe: " + err.Error())
	}
	return d
}}

// Sum returns the checksum of a unit as the unit with identity id: the
// HighwayHash-128, keyed with SumKey, of the identity block followed by
// the unit's bytes (layout in the package comment).
func Sum(unit []byte, id UnitID) [SumSize]byte {
	var b [idLen]byte
	le := binary.LittleEndian
	le.PutUint64(b[0:], id.Set)
	le.PutUint64(b[8:], id.Stripe)
	le.PutUint64(b[16:], id.Generation)
	le.PutUint32(b[24:], id.Member)
	le.PutUint32(b[28:], uint32(len(unit)))

	d := digests.Get().(*highwayhash.Digest)
	d.Reset()
	d.Write(b[:])
	d.Write(unit)
	var sum [SumSize]byte
	d.Sum(sum[:0])
	digests.Put(d)
	return sum
}
