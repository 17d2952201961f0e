package seg

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/plinth-storage/plinth/internal/keyhash"
)

// Record format constants; see the package comment. RecordMagic,
// RecordVersion's position, the header layout, the checksum algorithm and
// ChecksumKey never change.
const (
	RecordMagic      = "PLRC"
	RecordVersion    = 1
	RecordHeaderSize = 32
	// RecordAlign is the alignment of every record's start within a
	// segment.
	RecordAlign = 8
	// MaxPayload bounds one record's payload; large values belong in
	// several records (or, above the journal, in the data log).
	MaxPayload = 16 << 20
)

// Record types. Types below TypeUser are the segment's own; the layers
// above use TypeUser and up.
const (
	typeInvalid uint8 = 0
	// typeWrite starts every physical write: it says how long the write
	// is and where the previous valid data ended.
	typeWrite uint8 = 1
	// typeFooter seals the segment.
	typeFooter uint8 = 2
	// TypeUser is the first type available to the layers above.
	TypeUser uint8 = 16
)

// ChecksumKey keys the HighwayHash of records and segment headers. It is
// fixed by the format: checksums catch corruption, not forgery.
var ChecksumKey = []byte("plinth segment record key, v1..!")

// Errors a decode returns; test with errors.Is.
var (
	// ErrCorrupt: bytes that are not a valid record or header (bad
	// checksum, impossible lengths, truncated).
	ErrCorrupt = errors.New("corrupt segment data")
	// ErrUnsupported: a well-formed record or header of a format version
	// this binary does not read.
	ErrUnsupported = errors.New("unsupported segment format")
	// errNoRecord: the bytes start with zeros: padding or unwritten space.
	errNoRecord = errors.New("no record")
)

// Salt binds a record's checksum to the segment use it was written for:
// the drive, the segment index and the generation. A record copied,
// misdirected or left over from another segment or another use of this
// one fails its checksum here.
type Salt [28]byte

// MakeSalt builds the salt of a segment use.
func MakeSalt(drive [16]byte, index uint32, generation uint64) Salt {
	var s Salt
	copy(s[:16], drive[:])
	binary.LittleEndian.PutUint32(s[16:], index)
	binary.LittleEndian.PutUint64(s[20:], generation)
	return s
}

// Record is one decoded record. Payload aliases the scanned buffer until
// the next call to Next; copy it to keep it.
type Record struct {
	Type    uint8
	Flags   uint16
	Seq     uint64
	Payload []byte
	// Offset is the record's byte offset within its segment.
	Offset int64
}

// recordSize is the space a record with n payload bytes takes, aligned.
func recordSize(n int) int {
	return (RecordHeaderSize + n + RecordAlign - 1) / RecordAlign * RecordAlign
}

// encodeRecord writes a record at the start of b, which must hold
// recordSize(len(payload)) bytes; alignment padding is zeroed.
func encodeRecord(b []byte, salt *Salt, typ uint8, flags uint16, gen uint64, seq uint64, payload []byte) int {
	n := recordSize(len(payload))
	copy(b, RecordMagic)
	b[4] = RecordVersion
	b[5] = typ
	binary.LittleEndian.PutUint16(b[6:], flags)
	binary.LittleEndian.PutUint32(b[8:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(b[12:], uint32(gen))
	binary.LittleEndian.PutUint64(b[16:], seq)
	copy(b[RecordHeaderSize:], payload)
	clear(b[RecordHeaderSize+len(payload) : n])
	binary.LittleEndian.PutUint64(b[24:], recordChecksum(salt, b[:24], payload))
	return n
}

// decodeRecord decodes the record at the start of b for the segment use
// described by salt and gen. It returns the record and its aligned size
// (which may exceed len(b) by the alignment padding). It
// never panics, and never returns a record whose checksum does not match.
// A record of another generation is ErrCorrupt too: its checksum, salted
// with its own generation, cannot match.
func decodeRecord(b []byte, salt *Salt, gen uint64) (Record, int, error) {
	if len(b) < RecordHeaderSize {
		if allZero(b) {
			return Record{}, 0, errNoRecord
		}
		return Record{}, 0, fmt.Errorf("%w: %d bytes, shorter than a record header", ErrCorrupt, len(b))
	}
	if string(b[:4]) != RecordMagic {
		if allZero(b[:4]) {
			return Record{}, 0, errNoRecord
		}
		return Record{}, 0, fmt.Errorf("%w: bad record magic %q", ErrCorrupt, b[:4])
	}
	if b[4] != RecordVersion {
		return Record{}, 0, fmt.Errorf("%w: record version %d, this binary reads %d", ErrUnsupported, b[4], RecordVersion)
	}
	n := binary.LittleEndian.Uint32(b[8:])
	if n > MaxPayload {
		return Record{}, 0, fmt.Errorf("%w: payload length %d exceeds %d", ErrCorrupt, n, MaxPayload)
	}
	if int(n) > len(b)-RecordHeaderSize {
		return Record{}, 0, fmt.Errorf("%w: truncated record: payload length %d, %d bytes present", ErrCorrupt, n, len(b)-RecordHeaderSize)
	}
	payload := b[RecordHeaderSize : RecordHeaderSize+int(n)]
	if want, got := binary.LittleEndian.Uint64(b[24:]), recordChecksum(salt, b[:24], payload); want != got {
		return Record{}, 0, fmt.Errorf("%w: record checksum %#016x, computed %#016x", ErrCorrupt, want, got)
	}
	if g := binary.LittleEndian.Uint32(b[12:]); g != uint32(gen) {
		// Unreachable unless the salt was forged; kept as a second line.
		return Record{}, 0, fmt.Errorf("%w: record of generation %d in generation %d", ErrCorrupt, g, uint32(gen))
	}
	typ := b[5]
	if typ == typeInvalid {
		return Record{}, 0, fmt.Errorf("%w: record type 0", ErrCorrupt)
	}
	size := recordSize(int(n))
	return Record{
		Type:    typ,
		Flags:   binary.LittleEndian.Uint16(b[6:]),
		Seq:     binary.LittleEndian.Uint64(b[16:]),
		Payload: payload,
	}, size, nil
}

var recordHash = keyhash.New64(ChecksumKey)

func recordChecksum(salt *Salt, header []byte, payload []byte) uint64 {
	return recordHash.Sum64(salt[:], header, payload)
}

// staleRecord reports whether b starts with a record that is intact but
// belongs to an earlier use of the segment: its checksum verifies with the
// salt of the generation its header names. Such bytes after the end of a
// segment's data are leftovers, not damage.
func staleRecord(b []byte, drive [16]byte, index uint32, gen uint64) bool {
	if len(b) < RecordHeaderSize || string(b[:4]) != RecordMagic {
		return false
	}
	old := uint64(binary.LittleEndian.Uint32(b[12:]))
	if old == gen&0xffffffff {
		return false
	}
	old |= gen &^ 0xffffffff
	if old > gen {
		old -= 1 << 32
	}
	salt := MakeSalt(drive, index, old)
	_, _, err := decodeRecord(b, &salt, old)
	return err == nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
