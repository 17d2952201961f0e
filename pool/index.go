package pool

import (
	"encoding/binary"
	"fmt"

	"github.com/plinth-storage/plinth/alloc"
)

// Head states.
const (
	stateData      = 1
	stateTombstone = 2
)

const (
	headLen   = 38
	extentLen = 41
	repairLen = 17
	// MaxAttrs bounds the attributes a data head carries: the head must
	// fit a B-tree value (btree.MaxValue).
	MaxAttrs = 4000
)

// head is an owner's current state.
type head struct {
	state   byte
	version uint64
	size    int64
	tomb    loc    // the tombstone's record (state tombstone)
	attrs   []byte // data: the writer's attributes (version 2 heads)
}

// loc is where a record lies.
type loc struct {
	set alloc.SetID
	off int64 // stream offset of the record
	len int64 // record length
}

// extent is one data record holding part of an owner's bytes.
type extent struct {
	offset   int64 // logical offset of the payload
	rec      loc
	payload  int64
	version  uint64
	checksum uint64
}

// dataOffset is the stream offset of the extent's payload.
func (e extent) dataOffset(owner int) int64 { return e.rec.off + headerLen(owner) }

func encodeHead(h head) []byte {
	b := make([]byte, headLen, headLen+2+len(h.attrs))
	b[0] = 1
	if len(h.attrs) > 0 {
		b[0] = 2
	}
	b[1] = h.state
	binary.BigEndian.PutUint64(b[2:], h.version)
	binary.BigEndian.PutUint64(b[10:], uint64(h.size))
	binary.BigEndian.PutUint64(b[18:], uint64(h.tomb.set))
	binary.BigEndian.PutUint64(b[26:], uint64(h.tomb.off))
	binary.BigEndian.PutUint32(b[34:], uint32(h.tomb.len))
	if len(h.attrs) > 0 {
		b = binary.BigEndian.AppendUint16(b, uint16(len(h.attrs)))
		b = append(b, h.attrs...)
	}
	return b
}

func decodeHead(b []byte) (head, error) {
	var h head
	switch {
	case len(b) == headLen && b[0] == 1:
	case len(b) > headLen+2 && b[0] == 2:
		n := int(binary.BigEndian.Uint16(b[headLen:]))
		if n == 0 || n > MaxAttrs || len(b) != headLen+2+n {
			return h, fmt.Errorf("%w: head of %d bytes with %d bytes of attributes", ErrCorrupt, len(b), n)
		}
		h.attrs = b[headLen+2:]
	default:
		return h, fmt.Errorf("%w: head of %d bytes, version %d", ErrCorrupt, len(b), firstByte(b))
	}
	h.state = b[1]
	h.version = binary.BigEndian.Uint64(b[2:])
	h.size = int64(binary.BigEndian.Uint64(b[10:]))
	h.tomb = loc{set: alloc.SetID(binary.BigEndian.Uint64(b[18:])), off: int64(binary.BigEndian.Uint64(b[26:])), len: int64(binary.BigEndian.Uint32(b[34:]))}
	switch {
	case h.size < 0 || h.tomb.off < 0:
		return h, fmt.Errorf("%w: head with a negative size or offset", ErrCorrupt)
	case h.state == stateTombstone && len(h.attrs) > 0:
		return h, fmt.Errorf("%w: tombstone head with attributes", ErrCorrupt)
	case h.state == stateData && (h.tomb != loc{}):
		return h, fmt.Errorf("%w: data head with a tombstone location", ErrCorrupt)
	case h.state == stateTombstone && (h.size != 0 || (h.tomb.set == 0) != (h.tomb.len == 0) || h.tomb.set == 0 && h.tomb.off != 0):
		return h, fmt.Errorf("%w: tombstone head with a size or a partial record location", ErrCorrupt)
	case h.state != stateData && h.state != stateTombstone:
		return h, fmt.Errorf("%w: head state %d", ErrCorrupt, h.state)
	}
	return h, nil
}

func firstByte(b []byte) int {
	if len(b) == 0 {
		return -1
	}
	return int(b[0])
}

// extentPrefix is the part of an extent key that names its owner.
func extentPrefix(owner []byte) []byte {
	k := make([]byte, 2+len(owner), 2+len(owner)+8)
	binary.BigEndian.PutUint16(k, uint16(len(owner)))
	copy(k[2:], owner)
	return k
}

// extentKey is the key of an owner's extent at a logical offset.
func extentKey(owner []byte, offset int64) []byte {
	return binary.BigEndian.AppendUint64(extentPrefix(owner), uint64(offset))
}

// parseExtentKey splits an extent key.
func parseExtentKey(k []byte) (owner []byte, offset int64, err error) {
	if len(k) < 2+1+8 {
		return nil, 0, fmt.Errorf("%w: extent key of %d bytes", ErrCorrupt, len(k))
	}
	n := int(binary.BigEndian.Uint16(k))
	if len(k) != 2+n+8 || n == 0 || n > MaxOwner {
		return nil, 0, fmt.Errorf("%w: extent key of %d bytes with an owner of %d", ErrCorrupt, len(k), n)
	}
	off := binary.BigEndian.Uint64(k[2+n:])
	if off >= 1<<63 {
		return nil, 0, fmt.Errorf("%w: extent key with offset %d", ErrCorrupt, off)
	}
	return k[2 : 2+n], int64(off), nil
}

func encodeExtent(e extent) []byte {
	b := make([]byte, extentLen)
	b[0] = 1
	binary.BigEndian.PutUint64(b[1:], uint64(e.rec.set))
	binary.BigEndian.PutUint64(b[9:], uint64(e.rec.off))
	binary.BigEndian.PutUint32(b[17:], uint32(e.rec.len))
	binary.BigEndian.PutUint32(b[21:], uint32(e.payload))
	binary.BigEndian.PutUint64(b[25:], e.version)
	binary.BigEndian.PutUint64(b[33:], e.checksum)
	return b
}

// decodeExtent decodes an extent value; offset comes from its key.
func decodeExtent(b []byte, offset int64) (extent, error) {
	if len(b) != extentLen || b[0] != 1 {
		return extent{}, fmt.Errorf("%w: extent of %d bytes, version %d", ErrCorrupt, len(b), firstByte(b))
	}
	e := extent{
		offset:   offset,
		rec:      loc{set: alloc.SetID(binary.BigEndian.Uint64(b[1:])), off: int64(binary.BigEndian.Uint64(b[9:])), len: int64(binary.BigEndian.Uint32(b[17:]))},
		payload:  int64(binary.BigEndian.Uint32(b[21:])),
		version:  binary.BigEndian.Uint64(b[25:]),
		checksum: binary.BigEndian.Uint64(b[33:]),
	}
	if e.rec.set == 0 || e.rec.off < 0 || e.rec.len < recordHeader+1+e.payload {
		return e, fmt.Errorf("%w: extent in set %d at %d of %d bytes holding %d", ErrCorrupt, e.rec.set, e.rec.off, e.rec.len, e.payload)
	}
	return e, nil
}

// repairKey names a damaged stripe of a set.
func repairKey(set alloc.SetID, stripe int64) []byte {
	k := binary.BigEndian.AppendUint64(nil, uint64(set))
	return binary.BigEndian.AppendUint64(k, uint64(stripe))
}

func parseRepairKey(k []byte) (alloc.SetID, int64, error) {
	if len(k) != 16 {
		return 0, 0, fmt.Errorf("%w: repair key of %d bytes", ErrCorrupt, len(k))
	}
	return alloc.SetID(binary.BigEndian.Uint64(k)), int64(binary.BigEndian.Uint64(k[8:]) & (1<<63 - 1)), nil
}

func encodeRepair(members uint64, queued int64) []byte {
	b := make([]byte, repairLen)
	b[0] = 1
	binary.BigEndian.PutUint64(b[1:], members)
	binary.BigEndian.PutUint64(b[9:], uint64(queued))
	return b
}

func decodeRepair(b []byte) (members uint64, queued int64, err error) {
	if len(b) != repairLen || b[0] != 1 {
		return 0, 0, fmt.Errorf("%w: repair entry of %d bytes, version %d", ErrCorrupt, len(b), firstByte(b))
	}
	return binary.BigEndian.Uint64(b[1:]), int64(binary.BigEndian.Uint64(b[9:])), nil
}
