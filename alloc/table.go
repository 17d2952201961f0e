package alloc

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// Tree names of an allocator whose pool has no name (the node's first
// pool, which formats before pools had names gave these); a named pool's
// are "alloc/NAME/segments", "alloc/NAME/sets" and "alloc/NAME/meta".
const (
	legacySegTree  = "alloc.segments"
	legacySetTree  = "alloc.sets"
	legacyMetaTree = "alloc.meta"
)

// treeNames returns the segment, set and meta tree names of a pool.
func treeNames(pool string) (seg, set, meta string) {
	if pool == "" {
		return legacySegTree, legacySetTree, legacyMetaTree
	}
	p := "alloc/" + pool + "/"
	return p + "segments", p + "sets", p + "meta"
}

const (
	segVersion   = 1
	segEntrySize = 40
)

var be = binary.BigEndian

// Segment is one entry of the segment table.
type Segment struct {
	Drive, Index uint32
	State        State
	Gen          uint64 // the current use (or the next one, when free)
	Set          SetID  // 0 when free
	Live         int64  // the member's share of its set's live bytes
	Time         time.Time
}

func (s Segment) String() string {
	return fmt.Sprintf("segment %d of drive %d", s.Index, s.Drive)
}

func segKey(drive, index uint32) []byte {
	k := make([]byte, 8)
	be.PutUint32(k, drive)
	be.PutUint32(k[4:], index)
	return k
}

func decodeSegKey(k []byte) (drive, index uint32, err error) {
	if len(k) != 8 {
		return 0, 0, fmt.Errorf("%w: segment key of %d bytes, want 8", ErrCorrupt, len(k))
	}
	return be.Uint32(k), be.Uint32(k[4:]), nil
}

func (s Segment) encode() []byte {
	b := make([]byte, segEntrySize)
	b[0] = segVersion
	b[1] = byte(s.State)
	be.PutUint64(b[8:], s.Gen)
	be.PutUint64(b[16:], uint64(s.Set))
	be.PutUint64(b[24:], uint64(s.Live))
	be.PutUint64(b[32:], uint64(unixNano(s.Time)))
	return b
}

// decodeSegment decodes a segment table entry, key and value.
func decodeSegment(k, v []byte) (Segment, error) {
	drive, index, err := decodeSegKey(k)
	if err != nil {
		return Segment{}, err
	}
	s := Segment{Drive: drive, Index: index}
	fail := func(format string, a ...any) (Segment, error) {
		return Segment{}, fmt.Errorf("%w: %s: %s", ErrCorrupt, s, fmt.Sprintf(format, a...))
	}
	switch {
	case len(v) == 0:
		return fail("empty entry")
	case v[0] != segVersion:
		return fail("entry version %d, want %d", v[0], segVersion)
	case len(v) != segEntrySize:
		return fail("entry of %d bytes, want %d", len(v), segEntrySize)
	case !State(v[1]).valid():
		return fail("state %d", v[1])
	case !zero(v[2:8]):
		return fail("reserved bytes %x are not zero", v[2:8])
	}
	s.State = State(v[1])
	s.Gen = be.Uint64(v[8:])
	s.Set = SetID(be.Uint64(v[16:]))
	live := be.Uint64(v[24:])
	s.Time = fromUnixNano(int64(be.Uint64(v[32:])))
	switch {
	case s.Gen == 0:
		return fail("generation 0")
	case live > math.MaxInt64:
		return fail("live bytes %d", live)
	}
	s.Live = int64(live)
	return s, nil
}

func zero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// unixNano is t in the entries' encoding: 0 for the zero time.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}
