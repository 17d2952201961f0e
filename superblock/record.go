package superblock

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/plinth-storage/plinth/internal/keyhash"
)

// Format constants. See the package comment; the magic, version position,
// checksum algorithm and key never change.
const (
	Magic         = "PLNTHSB1"
	FormatVersion = 1
	HeaderSize    = 32
	SlotSize      = 4096
	// ScanStep is the granularity at which records may start.
	ScanStep = 4096
)

// ChecksumKey keys the HighwayHash of superblock records. It is fixed by
// the format: a checksum protects against corruption, not forgery.
var ChecksumKey = []byte("plinth superblock record key v1.")

// Errors a record decode returns; test with errors.Is.
var (
	// ErrEmptySlot: the slot holds no record (no magic) — unwritten, reset
	// or zeroed. Not a corruption.
	ErrEmptySlot = errors.New("empty slot")
	// ErrCorrupt: a record's bytes are damaged (bad checksum, impossible
	// lengths, truncated).
	ErrCorrupt = errors.New("corrupt superblock record")
	// ErrUnsupported: a well-formed record of a format this binary does
	// not know (newer version or unknown incompatible features).
	ErrUnsupported = errors.New("unsupported superblock format")
)

// Record is one decoded superblock record.
type Record struct {
	Seq  uint64
	Body []byte
}

// EncodeRecord writes a record into slot (len(slot) >= HeaderSize+len(body));
// the rest of slot is zeroed.
func EncodeRecord(slot []byte, seq uint64, body []byte) error {
	if len(body) > len(slot)-HeaderSize || len(body) > SlotSize-HeaderSize {
		return fmt.Errorf("superblock record body of %d bytes does not fit a %d-byte slot", len(body), len(slot))
	}
	clear(slot)
	copy(slot, Magic)
	binary.LittleEndian.PutUint16(slot[8:], FormatVersion)
	binary.LittleEndian.PutUint16(slot[10:], HeaderSize)
	binary.LittleEndian.PutUint32(slot[12:], uint32(len(body)))
	binary.LittleEndian.PutUint64(slot[16:], seq)
	copy(slot[HeaderSize:], body)
	binary.LittleEndian.PutUint64(slot[24:], checksum(slot, len(body)))
	return nil
}

// DecodeRecord decodes the record at the start of b. The returned body
// aliases b. It never panics, whatever b holds.
func DecodeRecord(b []byte) (Record, error) {
	if len(b) < HeaderSize {
		return Record{}, fmt.Errorf("%w: %d bytes, shorter than the %d-byte header", ErrCorrupt, len(b), HeaderSize)
	}
	if !bytes.Equal(b[:8], []byte(Magic)) {
		return Record{}, ErrEmptySlot
	}
	version := binary.LittleEndian.Uint16(b[8:])
	if version != FormatVersion {
		return Record{}, fmt.Errorf("%w: record format version %d, this binary reads version %d", ErrUnsupported, version, FormatVersion)
	}
	if h := binary.LittleEndian.Uint16(b[10:]); h != HeaderSize {
		return Record{}, fmt.Errorf("%w: header length %d, want %d", ErrCorrupt, h, HeaderSize)
	}
	n := binary.LittleEndian.Uint32(b[12:])
	if int64(n) > int64(SlotSize-HeaderSize) {
		return Record{}, fmt.Errorf("%w: body length %d exceeds the slot", ErrCorrupt, n)
	}
	if int(n) > len(b)-HeaderSize {
		return Record{}, fmt.Errorf("%w: truncated: body length %d, %d bytes present", ErrCorrupt, n, len(b)-HeaderSize)
	}
	if want, got := binary.LittleEndian.Uint64(b[24:]), checksum(b, int(n)); want != got {
		return Record{}, fmt.Errorf("%w: checksum %#016x, computed %#016x", ErrCorrupt, want, got)
	}
	return Record{Seq: binary.LittleEndian.Uint64(b[16:]), Body: b[HeaderSize : HeaderSize+int(n)]}, nil
}

var slotHash = keyhash.New64(ChecksumKey)

func checksum(slot []byte, bodyLen int) uint64 {
	return slotHash.Sum64(slot[:24], slot[HeaderSize:HeaderSize+bodyLen])
}
