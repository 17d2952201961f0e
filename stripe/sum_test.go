package stripe

import (
	"encoding/binary"
	"encoding/hex"
	"testing"

	"github.com/minio/highwayhash"
)

// specSum computes a unit sum from the package comment's layout, with
// highwayhash directly, never through Sum.
func specSum(unit []byte, id UnitID) [SumSize]byte {
	msg := make([]byte, 32+len(unit))
	binary.LittleEndian.PutUint64(msg[0:], id.Set)
	binary.LittleEndian.PutUint64(msg[8:], id.Stripe)
	binary.LittleEndian.PutUint64(msg[16:], id.Generation)
	binary.LittleEndian.PutUint32(msg[24:], id.Member)
	binary.LittleEndian.PutUint32(msg[28:], uint32(len(unit)))
	copy(msg[32:], unit)
	return highwayhash.Sum128(msg, []byte("plinth stripe unit checksum v1.!"))
}

func TestSumMatchesSpec(t *testing.T) {
	if len(SumKey) != 32 {
		t.Fatalf("SumKey is %d bytes", len(SumKey))
	}
	for _, size := range []int{0, 1, 31, 32, 33, 4096, 3*BlockSize + 0, 1 << 20} {
		unit := make([]byte, size)
		fill(unit, uint64(size))
		for i := range size % 8 { // fill leaves a tail that is not a multiple of 8
			unit[size-1-i] = byte(i + 1)
		}
		id := UnitID{Set: 0x0102030405060708, Stripe: 0x1112131415161718, Member: 0x21222324, Generation: 0x3132333435363738}
		if got, want := Sum(unit, id), specSum(unit, id); got != want {
			t.Fatalf("%d bytes: Sum %x, spec %x", size, got, want)
		}
	}
}

// TestSumGolden pins the sum: it is part of the on-disk format.
func TestSumGolden(t *testing.T) {
	unit := make([]byte, BlockSize)
	fill(unit, 42)
	id := UnitID{Set: 7, Stripe: 12345, Member: 3, Generation: 9}
	const want = "732d60b661f278ca53f80d5bf8b45bd1"
	if got := Sum(unit, id); hex.EncodeToString(got[:]) != want {
		t.Fatalf("Sum = %x, want %s: THE ON-DISK UNIT SUM CHANGED", got, want)
	}
}

// TestSumBindsIdentity: the same bytes under any other identity, in any
// field, give another sum.
func TestSumBindsIdentity(t *testing.T) {
	unit := make([]byte, BlockSize)
	fill(unit, 1)
	id := UnitID{Set: 5, Stripe: 6, Member: 2, Generation: 8}
	base := Sum(unit, id)
	for name, other := range map[string]UnitID{
		"set":        {Set: 6, Stripe: 6, Member: 2, Generation: 8},
		"stripe":     {Set: 5, Stripe: 7, Member: 2, Generation: 8},
		"member":     {Set: 5, Stripe: 6, Member: 3, Generation: 8},
		"generation": {Set: 5, Stripe: 6, Member: 2, Generation: 7},
		"swapped":    {Set: 6, Stripe: 5, Member: 2, Generation: 8},
	} {
		if Sum(unit, other) == base {
			t.Errorf("%s: same sum under %v and %v", name, id, other)
		}
	}
	if Sum(unit[:len(unit)-8], id) == base {
		t.Error("a shorter unit has the same sum")
	}
	unit[100] ^= 0x10
	if Sum(unit, id) == base {
		t.Error("a flipped bit leaves the sum unchanged")
	}
}

func TestSumNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops states at random under the race detector")
	}
	unit := make([]byte, BlockSize)
	id := UnitID{Set: 1}
	Sum(unit, id)
	if n := testing.AllocsPerRun(100, func() { Sum(unit, id) }); n != 0 {
		t.Errorf("Sum allocates %.1f times per call", n)
	}
}
