package seg

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/minio/highwayhash"
)

// Segment header constants; see the package comment.
const (
	HeaderMagic   = "PLNTHSEG"
	HeaderVersion = 1
	headerLen     = 128
)

// Kind says what a segment holds.
type Kind uint8

const (
	KindData     Kind = 1 // records of the data log
	KindMetadata Kind = 2 // B-tree nodes
	KindJournal  Kind = 3 // the metadata journal
)

func (k Kind) String() string {
	switch k {
	case KindData:
		return "data"
	case KindMetadata:
		return "metadata"
	case KindJournal:
		return "journal"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Header identifies one use of a segment. It is the first block of the
// segment.
type Header struct {
	Node       uuid.UUID
	Drive      uuid.UUID
	Index      uint32 // the segment's index on its drive
	Kind       Kind
	Generation uint64 // incremented at every reuse of the segment
	Set        uint64 // the segment set it belongs to (0: none)
	FirstSeq   uint64 // the sequence number of the segment's first record
	Created    time.Time
	BlockSize  uint32 // the unit of physical writes
	Capacity   int64  // bytes of the segment that may be written, header included
}

func (h Header) salt() Salt { return MakeSalt(h.Drive, h.Index, h.Generation) }

func (h Header) encode(b []byte) {
	clear(b[:h.BlockSize])
	le := binary.LittleEndian
	copy(b, HeaderMagic)
	le.PutUint16(b[8:], HeaderVersion)
	le.PutUint16(b[10:], headerLen)
	le.PutUint32(b[12:], h.BlockSize)
	copy(b[16:], h.Node[:])
	copy(b[32:], h.Drive[:])
	le.PutUint32(b[48:], h.Index)
	b[52] = byte(h.Kind)
	le.PutUint64(b[56:], h.Generation)
	le.PutUint64(b[64:], h.Set)
	le.PutUint64(b[72:], h.FirstSeq)
	le.PutUint64(b[80:], uint64(h.Created.UnixNano()))
	le.PutUint64(b[88:], uint64(h.Capacity))
	le.PutUint64(b[120:], highwayhash.Sum64(b[:120], ChecksumKey))
}

// decodeHeader decodes a segment header. It never panics.
func decodeHeader(b []byte) (Header, error) {
	if len(b) < headerLen {
		return Header{}, fmt.Errorf("%w: segment header of %d bytes", ErrCorrupt, len(b))
	}
	if string(b[:8]) != HeaderMagic {
		if allZero(b[:headerLen]) {
			return Header{}, fmt.Errorf("%w: no segment header (unwritten)", ErrNotWritten)
		}
		return Header{}, fmt.Errorf("%w: bad segment header magic %q", ErrCorrupt, b[:8])
	}
	le := binary.LittleEndian
	if v := le.Uint16(b[8:]); v != HeaderVersion {
		return Header{}, fmt.Errorf("%w: segment header version %d, this binary reads %d", ErrUnsupported, v, HeaderVersion)
	}
	if want, got := le.Uint64(b[120:]), highwayhash.Sum64(b[:120], ChecksumKey); want != got {
		return Header{}, fmt.Errorf("%w: segment header checksum %#016x, computed %#016x", ErrCorrupt, want, got)
	}
	if l := le.Uint16(b[10:]); l != headerLen {
		return Header{}, fmt.Errorf("%w: segment header length %d", ErrCorrupt, l)
	}
	if !allZero(b[53:56]) || !allZero(b[96:120]) {
		// Version 1 writes zeros there: a header that does not is not
		// one this binary wrote or can re-encode.
		return Header{}, fmt.Errorf("%w: segment header has non-zero reserved bytes", ErrCorrupt)
	}
	var h Header
	h.BlockSize = le.Uint32(b[12:])
	copy(h.Node[:], b[16:32])
	copy(h.Drive[:], b[32:48])
	h.Index = le.Uint32(b[48:])
	h.Kind = Kind(b[52])
	h.Generation = le.Uint64(b[56:])
	h.Set = le.Uint64(b[64:])
	h.FirstSeq = le.Uint64(b[72:])
	h.Created = time.Unix(0, int64(le.Uint64(b[80:]))).UTC()
	h.Capacity = int64(le.Uint64(b[88:]))
	switch {
	case h.BlockSize < 512 || h.BlockSize&(h.BlockSize-1) != 0 || h.BlockSize > 1<<20:
		return Header{}, fmt.Errorf("%w: segment block size %d", ErrCorrupt, h.BlockSize)
	case h.Capacity < 3*int64(h.BlockSize) || h.Capacity%int64(h.BlockSize) != 0:
		return Header{}, fmt.Errorf("%w: segment capacity %d", ErrCorrupt, h.Capacity)
	case h.Kind < KindData || h.Kind > KindJournal:
		return Header{}, fmt.Errorf("%w: segment kind %d", ErrCorrupt, h.Kind)
	}
	return h, nil
}
