package beck

import (
	"encoding/binary"
	"time"

	"github.com/plinth-storage/plinth/pool"
	"github.com/plinth-storage/plinth/stripe"
)

// The allocator's table entries, which the rebuild writes into the fresh
// store. Their format is specified byte by byte in alloc/doc.go; the
// allocator's decoders, run by the verify phase and by fsck, check these
// encoders. (The node's pool and label records, buckets and the clock's
// ceiling are written with their own packages' encoders.)

// allocTrees returns the allocator trees of pool name: the unnamed ones
// for the legacy default pool (pool.LegacyAllocPool), as pool.Open names
// them.
func allocTrees(name string) (segs, sets, meta string) {
	if name == pool.LegacyAllocPool {
		return "alloc.segments", "alloc.sets", "alloc.meta"
	}
	p := "alloc/" + name + "/"
	return p + "segments", p + "sets", p + "meta"
}

// Allocator states (alloc.State).
const (
	allocFree = 0
	allocOpen = 1
)

func unixNano(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixNano())
}

// segKey is a segment table key: drive position (4) and segment index (4).
func segKey(pos int, index uint32) []byte {
	k := binary.BigEndian.AppendUint32(nil, uint32(pos))
	return binary.BigEndian.AppendUint32(k, index)
}

// segEntry is a segment table entry (version 1, 40 bytes).
func segEntry(state byte, gen, set uint64, live int64, at time.Time) []byte {
	b := make([]byte, 40)
	b[0], b[1] = 1, state
	binary.BigEndian.PutUint64(b[8:], gen)
	binary.BigEndian.PutUint64(b[16:], set)
	binary.BigEndian.PutUint64(b[24:], uint64(live))
	binary.BigEndian.PutUint64(b[32:], unixNano(at))
	return b
}

// setKey is a set table key: the set id (8).
func setKey(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }

// setEntry is an open erasure-coded set's entry (version 2, no pending
// replacement).
func setEntry(fs *foundSet, l stripe.Layout, live int64) []byte {
	b := make([]byte, 48, 48+16*len(fs.members))
	b[0], b[1], b[2], b[3], b[4] = 2, allocOpen, 1, byte(l.N), byte(l.K)
	binary.BigEndian.PutUint64(b[8:], unixNano(fs.created))
	binary.BigEndian.PutUint64(b[24:], uint64(fs.capacity))
	binary.BigEndian.PutUint64(b[32:], uint64(fs.end))
	binary.BigEndian.PutUint64(b[40:], uint64(live))
	for _, m := range fs.members {
		b = binary.BigEndian.AppendUint32(b, uint32(m.pos))
		b = binary.BigEndian.AppendUint32(b, m.seg)
		b = binary.BigEndian.AppendUint64(b, m.gen)
	}
	return b
}

// allocMeta is the allocator record (version 1, 16 bytes).
func allocMeta(next uint64) []byte {
	b := make([]byte, 16)
	b[0] = 1
	binary.BigEndian.PutUint64(b[8:], next)
	return b
}

// share is a member's share of its set's live bytes: ceil(live/N).
func share(live int64, n int) int64 { return (live + int64(n) - 1) / int64(n) }
