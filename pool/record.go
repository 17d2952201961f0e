package pool

import (
	"encoding/binary"
	"fmt"

	"github.com/plinth-storage/plinth/internal/keyhash"
)

const (
	// RecordKey keys the records' checksums. It is part of the format.
	RecordKey = "plinth data log record v1......!"
	// MaxOwner bounds an owner's name: its extent keys must fit a B-tree
	// key (btree.MaxKey) with a length and an offset.
	MaxOwner = 1000
	// recordHeader is the fixed part of a record header.
	recordHeader = 40
	// recordFormat is the format version data and tombstone records are
	// written with: their bytes have not changed since version 1, so a
	// reader of version 1 still reads them.
	recordFormat = 1
	// attrsFormat is the format version that added attrs records (kind
	// 3); they are written with it. A reader accepts data and tombstone
	// records of either version.
	attrsFormat = 2
	// attrsFixed is the fixed part of an attrs payload: the owner's size
	// (8) and the attributes' length (2).
	attrsFixed = 10
)

// Record kinds.
const (
	kindPad       = 0
	kindData      = 1
	kindTombstone = 2
	// kindAttrs is a write's attributes and size (format version 2): the
	// record written just before a write's last data record. Nothing in
	// the index references it; it is how an index rebuilt from the log
	// gets a write's size and attributes back.
	kindAttrs = 3
)

var recordHash = keyhash.New64([]byte(RecordKey))

// record is a decoded record header.
type record struct {
	kind     byte
	format   byte // format version of the header; 0: the kind's current one
	owner    []byte
	payload  uint32 // payload length
	version  uint64
	offset   uint64 // logical offset of the payload
	checksum uint64 // of the payload
}

// size is the record's length in the stream.
func (r *record) size() int64 { return recordHeader + int64(len(r.owner)) + int64(r.payload) }

// headerLen is the length of a record header with an owner of n bytes.
func headerLen(owner int) int64 { return recordHeader + int64(owner) }

// payloadSum is the checksum of a payload.
func payloadSum(p []byte) uint64 { return recordHash.Sum64(p) }

// appendHeader encodes r's header and owner onto dst.
func appendHeader(dst []byte, r *record) []byte {
	var h [recordHeader]byte
	h[0] = r.kind
	h[1] = r.format
	if h[1] == 0 {
		h[1] = recordFormat
		if r.kind == kindAttrs {
			h[1] = attrsFormat
		}
	}
	binary.BigEndian.PutUint16(h[2:], uint16(len(r.owner)))
	binary.BigEndian.PutUint32(h[4:], r.payload)
	binary.BigEndian.PutUint64(h[8:], r.version)
	binary.BigEndian.PutUint64(h[16:], r.offset)
	binary.BigEndian.PutUint64(h[24:], r.checksum)
	binary.BigEndian.PutUint64(h[32:], recordHash.Sum64(h[:32], r.owner))
	dst = append(dst, h[:]...)
	return append(dst, r.owner...)
}

// parseHeader decodes the record header at the start of b (which holds at
// least the header and the owner; the payload need not follow). The owner
// aliases b. It fails with ErrCorrupt, saying why, on anything but a valid
// header; a zero first byte is padding (kindPad, no error).
func parseHeader(b []byte) (record, error) {
	var r record
	if len(b) == 0 {
		return r, fmt.Errorf("%w: record header cut short", ErrCorrupt)
	}
	if b[0] == kindPad {
		return record{kind: kindPad}, nil
	}
	if len(b) < recordHeader {
		return r, fmt.Errorf("%w: record header cut short (%d bytes left)", ErrCorrupt, len(b))
	}
	r.kind, r.format = b[0], b[1]
	switch {
	case r.kind != kindData && r.kind != kindTombstone && r.kind != kindAttrs:
		return r, fmt.Errorf("%w: record kind %d", ErrCorrupt, r.kind)
	case r.format != recordFormat && r.format != attrsFormat:
		return r, fmt.Errorf("%w: record format %d (this binary reads %d and %d)", ErrCorrupt, r.format, recordFormat, attrsFormat)
	case r.kind == kindAttrs && r.format < attrsFormat:
		return r, fmt.Errorf("%w: attrs record of format %d (attrs came with format %d)", ErrCorrupt, r.format, attrsFormat)
	}
	ol := int(binary.BigEndian.Uint16(b[2:]))
	if ol == 0 || ol > MaxOwner {
		return r, fmt.Errorf("%w: record owner length %d", ErrCorrupt, ol)
	}
	if len(b) < recordHeader+ol {
		return r, fmt.Errorf("%w: record owner cut short", ErrCorrupt)
	}
	r.owner = b[recordHeader : recordHeader+ol]
	if got, want := binary.BigEndian.Uint64(b[32:]), recordHash.Sum64(b[:32], r.owner); got != want {
		return r, fmt.Errorf("%w: record header checksum %016x, computed %016x", ErrCorrupt, got, want)
	}
	r.payload = binary.BigEndian.Uint32(b[4:])
	r.version = binary.BigEndian.Uint64(b[8:])
	r.offset = binary.BigEndian.Uint64(b[16:])
	r.checksum = binary.BigEndian.Uint64(b[24:])
	if r.kind == kindTombstone && (r.payload != 0 || r.offset != 0) {
		return r, fmt.Errorf("%w: tombstone with a payload or an offset", ErrCorrupt)
	}
	return r, nil
}

// scanned is a record found in a stripe, with where it is.
type scanned struct {
	record
	at   int64  // stream offset of the record
	data []byte // its payload (aliases the stripe buffer)
}

// scanStripe parses the records of one stripe's bytes b, which start at
// stream offset base. Records end at the first padding byte. A record that
// does not fit b, or a payload whose checksum fails, is ErrCorrupt. Attrs
// records are checked and left out: nothing in the index references them,
// so the cleaner, the checker and the repairs have no use for them
// (scanStripeAll returns them too).
func scanStripe(b []byte, base int64) ([]scanned, error) {
	return scanStripeAll(b, base, false)
}

// scanStripeAll is scanStripe, with the attrs records when attrs is set.
func scanStripeAll(b []byte, base int64, attrs bool) ([]scanned, error) {
	var out []scanned
	pos := 0
	for pos < len(b) {
		r, err := parseHeader(b[pos:])
		if err != nil {
			return out, fmt.Errorf("record at stream offset %d: %w", base+int64(pos), err)
		}
		if r.kind == kindPad {
			break
		}
		end := int64(pos) + r.size()
		if end > int64(len(b)) {
			return out, fmt.Errorf("record at stream offset %d: %w: %d bytes, %d left in the stripe", base+int64(pos), ErrCorrupt, r.size(), len(b)-pos)
		}
		data := b[int64(pos)+headerLen(len(r.owner)) : end]
		if payloadSum(data) != r.checksum {
			return out, fmt.Errorf("record at stream offset %d: %w: payload checksum", base+int64(pos), ErrCorrupt)
		}
		if r.kind != kindAttrs || attrs {
			out = append(out, scanned{record: r, at: base + int64(pos), data: data})
		}
		pos = int(end)
	}
	return out, nil
}
