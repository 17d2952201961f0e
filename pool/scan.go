package pool

import (
	"encoding/binary"
	"fmt"
)

// This file is the log side of an index rebuilt from the data log (the
// beck tool, tools/beck): the records of a stripe as they are, attrs
// records included, for a caller that reads a set's stream itself.

// RecordKind is what a record of the data log holds.
type RecordKind uint8

// Record kinds, as the format numbers them.
const (
	RecordData      RecordKind = kindData
	RecordTombstone RecordKind = kindTombstone
	RecordAttrs     RecordKind = kindAttrs
)

func (k RecordKind) String() string {
	switch k {
	case RecordData:
		return "data"
	case RecordTombstone:
		return "tombstone"
	case RecordAttrs:
		return "attrs"
	}
	return fmt.Sprintf("RecordKind(%d)", uint8(k))
}

// LogRecord is one record found in a set's stream. Owner and Payload alias
// the bytes scanned.
type LogRecord struct {
	Kind RecordKind
	// Format is the record's format version (1 or 2).
	Format  byte
	Owner   []byte
	Version uint64
	// Offset is, for data, the logical offset of the payload in the
	// owner's bytes; for attrs, the offset of the payload in the write's
	// attrs payload (DecodeAttrsPayload); 0 for a tombstone.
	Offset int64
	// At is the record's stream offset and Len its length (header, owner
	// and payload).
	At, Len int64
	// Payload is the record's payload, its checksum verified.
	Payload  []byte
	Checksum uint64
}

// ScanRecords decodes every record of one stripe's stream bytes b, which
// start at stream offset base, attrs records included: the records up to
// the first padding byte, each header and payload checksum verified. The
// records before a damaged one are returned with the error (ErrCorrupt,
// naming the stream offset); nothing after it is.
func ScanRecords(b []byte, base int64) ([]LogRecord, error) {
	recs, err := scanStripeAll(b, base, true)
	out := make([]LogRecord, len(recs))
	for i, r := range recs {
		out[i] = LogRecord{Kind: RecordKind(r.kind), Format: r.format, Owner: r.owner, Version: r.version,
			Offset: int64(r.offset), At: r.at, Len: r.size(), Payload: r.data, Checksum: r.checksum}
	}
	return out, err
}

// RecordHeaderLen is the length of a record's header with an owner of n
// bytes: a data record of p payload bytes is RecordHeaderLen(n)+p long.
func RecordHeaderLen(owner int) int64 { return headerLen(owner) }

// encodeAttrsPayload is the payload of a write's attrs record(s): the
// owner's size (8), the attributes' length (2) and the attributes.
func encodeAttrsPayload(size int64, attrs []byte) []byte {
	b := make([]byte, attrsFixed, attrsFixed+len(attrs))
	binary.BigEndian.PutUint64(b, uint64(size))
	binary.BigEndian.PutUint16(b[8:], uint16(len(attrs)))
	return append(b, attrs...)
}

// DecodeAttrsPayload decodes the whole attrs payload of a write (its
// attrs records' payloads put together by their offsets): the size of
// the owner's bytes the write gave, and its attributes (nil: none). Bytes
// that are not a whole payload wrap ErrCorrupt.
func DecodeAttrsPayload(b []byte) (size int64, attrs []byte, err error) {
	if len(b) < attrsFixed {
		return 0, nil, fmt.Errorf("%w: attrs payload of %d bytes", ErrCorrupt, len(b))
	}
	u := binary.BigEndian.Uint64(b)
	n := int(binary.BigEndian.Uint16(b[8:]))
	switch {
	case u >= 1<<63:
		return 0, nil, fmt.Errorf("%w: attrs payload with size %d", ErrCorrupt, u)
	case n > MaxAttrs || len(b) != attrsFixed+n:
		return 0, nil, fmt.Errorf("%w: attrs payload of %d bytes holding %d bytes of attributes", ErrCorrupt, len(b), n)
	}
	if n > 0 {
		attrs = b[attrsFixed:]
	}
	return int64(u), attrs, nil
}

// AttrsPayloadLen is the length of a whole attrs payload whose first
// chunk starts with b (at least 10 bytes), or -1 when b is too short to
// say.
func AttrsPayloadLen(b []byte) int {
	if len(b) < attrsFixed {
		return -1
	}
	return attrsFixed + int(binary.BigEndian.Uint16(b[8:]))
}
