package pool

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestSalvageRecords: in a stripe whose bytes are partly bad, the records
// whose header and payload are good are found whole, past a record lost
// with its header; one whose header is good and payload bad is found
// damaged; chance bytes are not taken for a record.
func TestSalvageRecords(t *testing.T) {
	mk := func(owner string, version uint64, payload []byte) []byte {
		r := record{kind: kindData, owner: []byte(owner), payload: uint32(len(payload)), version: version, checksum: payloadSum(payload)}
		return append(appendHeader(nil, &r), payload...)
	}
	a := mk("o/b/a", 1, bytes.Repeat([]byte{1}, 300))
	bb := mk("o/b/b", 2, bytes.Repeat([]byte{2}, 300))
	c := mk("o/b/c", 3, bytes.Repeat([]byte{3}, 300))
	d := mk("o/b/d", 4, bytes.Repeat([]byte{4}, 300))
	stripe := append(append(append(append(bytes.Clone(a), bb...), c...), d...), make([]byte, 500)...)
	aEnd, bEnd, cEnd := int64(len(a)), int64(len(a)+len(bb)), int64(len(a)+len(bb)+len(c))
	// Bad: a's header, and the middle of c's payload.
	bad := [][2]int64{{0, 10}, {cEnd - 100, cEnd - 90}}
	good := func(lo, hi int64) bool {
		for _, r := range bad {
			if lo < r[1] && r[0] < hi {
				return false
			}
		}
		return true
	}
	for _, r := range bad {
		for i := r[0]; i < r[1]; i++ {
			stripe[i] ^= 0x5a
		}
	}
	whole, damaged := SalvageRecords(stripe, 8192, good)
	if len(whole) != 2 || string(whole[0].Owner) != "o/b/b" || whole[0].At != 8192+aEnd || string(whole[1].Owner) != "o/b/d" || whole[1].At != 8192+cEnd {
		t.Fatalf("whole %+v", whole)
	}
	if len(damaged) != 1 || string(damaged[0].Owner) != "o/b/c" || damaged[0].At != 8192+bEnd || damaged[0].Payload != nil || damaged[0].Version != 3 {
		t.Fatalf("damaged %+v", damaged)
	}
	// Random bytes, all "good": nothing found, no panic.
	rng := rand.New(rand.NewPCG(1, 2))
	junk := make([]byte, 1<<16)
	for i := range junk {
		junk[i] = byte(rng.Uint32() % 4)
	}
	if w, d := SalvageRecords(junk, 0, func(int64, int64) bool { return true }); len(w)+len(d) != 0 {
		t.Fatalf("found in junk: %+v %+v", w, d)
	}
}
