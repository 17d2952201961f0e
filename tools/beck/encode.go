package beck

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/plinth-storage/plinth/pool"
	"github.com/plinth-storage/plinth/stripe"
	"github.com/plinth-storage/plinth/superblock"
)

// The entries of other packages' trees that the rebuild writes into the
// fresh store. Their formats are specified byte by byte where they are
// defined (alloc/doc.go, appliance/pools.go, appliance/objects/doc.go,
// appliance/server/clock.go); their decoders, run by the verify phase and
// by fsck, are what checks these encoders.

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

// poolRecord is a node/pools value (appliance.PoolsTree): version 1 when
// the pool spans every drive (drives nil), 2 with its drive positions.
func poolRecord(l stripe.Layout, drives []int) []byte {
	b := []byte{1, byte(l.N), byte(l.K), 0}
	if drives != nil {
		b[0] = 2
	}
	b = binary.BigEndian.AppendUint32(b, uint32(l.Unit))
	if drives != nil {
		b = binary.BigEndian.AppendUint16(b, uint16(len(drives)))
		for _, d := range drives {
			b = binary.BigEndian.AppendUint32(b, uint32(d))
		}
	}
	return b
}

// decodePoolRecord reads a node/pools value; drives nil: every drive.
func decodePoolRecord(b []byte) (l stripe.Layout, drives []int, err error) {
	if len(b) < 8 || b[0] < 1 || b[0] > 2 || b[3] != 0 || b[0] == 1 && len(b) != 8 {
		return l, nil, fmt.Errorf("pool record %x: not version 1 or 2", b)
	}
	l = stripe.Layout{N: int(b[1]), K: int(b[2]), Unit: int(binary.BigEndian.Uint32(b[4:]))}
	if err := l.Validate(); err != nil {
		return l, nil, fmt.Errorf("pool record: %w", err)
	}
	if b[0] == 2 {
		if len(b) < 10 {
			return l, nil, fmt.Errorf("pool record of %d bytes", len(b))
		}
		n := int(binary.BigEndian.Uint16(b[8:]))
		if n == 0 || len(b) != 10+4*n {
			return l, nil, fmt.Errorf("pool record of %d bytes with %d drives", len(b), n)
		}
		for i := range n {
			drives = append(drives, int(binary.BigEndian.Uint32(b[10+4*i:])))
		}
	}
	return l, drives, nil
}

// labelKey and labelValue are a node/labels entry (appliance.LabelsTree):
// the position, and the label as JSON without its checkpoint pointer.
func labelKey(pos int) []byte { return binary.BigEndian.AppendUint32(nil, uint32(pos)) }

func labelValue(l superblock.Label) ([]byte, error) {
	l.Checkpoint = superblock.Checkpoint{}
	v, err := json.Marshal(l)
	if err != nil {
		return nil, fmt.Errorf("label of drive %d: %w", l.Position, err)
	}
	return v, nil
}

// bucketRecord is an objects/buckets value (version 1).
func bucketRecord(created time.Time, poolName string) []byte {
	v := []byte{1}
	v = binary.BigEndian.AppendUint64(v, unixNano(created))
	v = append(v, byte(len(poolName)))
	return append(v, poolName...)
}

// clockKey is the key of the hybrid clock's persisted ceiling in its tree.
var clockKey = []byte("ceiling")
