package store

import (
	"encoding/binary"
	"fmt"

	"github.com/plinth-storage/plinth/btree"
	"github.com/plinth-storage/plinth/internal/keyhash"
)

// CheckpointKey keys the HighwayHash of checkpoint records. It is fixed by
// the format.
var CheckpointKey = []byte("plinth metadata checkpoint v1..!")

const (
	recordMagic      = "PLCK"
	recordVersion    = 1
	recordHeaderSize = 112
	segEntrySize     = 32
	rootSize         = 72
)

// Record types in metadata segments.
const (
	typeNode       = 16
	typeCheckpoint = 17
)

// segState is a metadata segment's state.
type segState uint8

const (
	segFree segState = 0
	segOpen segState = 1
	segFull segState = 2
)

func (s segState) String() string {
	switch s {
	case segFree:
		return "free"
	case segOpen:
		return "open"
	case segFull:
		return "full"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// segInfo is one metadata segment's entry in a checkpoint.
type segInfo struct {
	State   segState
	Gen     uint64 // generation of its current use (header)
	Live    uint64 // bytes the checkpoint's trees and record reach
	FreedAt uint64 // the checkpoint generation at which Live fell to zero
}

// checkpointRecord is the decoded checkpoint record.
type checkpointRecord struct {
	Gen       uint64
	LSN       uint64
	NextTree  uint64
	Catalogue btree.Root
	Segs      []segInfo
}

func recordSize(segments int) int { return recordHeaderSize + segEntrySize*segments + 8 }

var recordHash = keyhash.New64(CheckpointKey)

func recordChecksum(b []byte) uint64 { return recordHash.Sum64(b) }

// encode returns the record and its checksum.
func (r *checkpointRecord) encode() ([]byte, uint64) {
	b := make([]byte, recordSize(len(r.Segs)))
	le := binary.LittleEndian
	copy(b, recordMagic)
	b[4] = recordVersion
	le.PutUint64(b[8:], r.Gen)
	le.PutUint64(b[16:], r.LSN)
	le.PutUint64(b[24:], r.NextTree)
	putRoot(b[32:], r.Catalogue)
	le.PutUint32(b[104:], uint32(len(r.Segs)))
	for i, s := range r.Segs {
		e := b[recordHeaderSize+i*segEntrySize:]
		e[0] = byte(s.State)
		le.PutUint64(e[8:], s.Gen)
		le.PutUint64(e[16:], s.Live)
		le.PutUint64(e[24:], s.FreedAt)
	}
	n := len(b) - 8
	sum := recordChecksum(b[:n])
	le.PutUint64(b[n:], sum)
	return b, sum
}

// decodeRecord decodes a checkpoint record that must have checksum sum.
func decodeRecord(b []byte, sum uint64) (*checkpointRecord, error) {
	le := binary.LittleEndian
	if len(b) < recordSize(0) || string(b[:4]) != recordMagic {
		return nil, fmt.Errorf("%w: not a checkpoint record", ErrCorrupt)
	}
	if b[4] != recordVersion {
		return nil, fmt.Errorf("%w: checkpoint record version %d", ErrUnsupported, b[4])
	}
	segs := int(le.Uint32(b[104:]))
	if segs > (len(b)-recordSize(0))/segEntrySize || len(b) != recordSize(segs) {
		return nil, fmt.Errorf("%w: checkpoint record of %d bytes for %d segments", ErrCorrupt, len(b), segs)
	}
	n := len(b) - 8
	if got := le.Uint64(b[n:]); got != sum || recordChecksum(b[:n]) != sum {
		return nil, fmt.Errorf("%w: checkpoint record checksum does not match", ErrCorrupt)
	}
	if !zero(b[5:8]) || !zero(b[108:112]) || !rootPadZero(b[32:]) {
		return nil, fmt.Errorf("%w: checkpoint record with nonzero reserved bytes", ErrCorrupt)
	}
	r := &checkpointRecord{Gen: le.Uint64(b[8:]), LSN: le.Uint64(b[16:]), NextTree: le.Uint64(b[24:]), Catalogue: getRoot(b[32:])}
	for i := range segs {
		e := b[recordHeaderSize+i*segEntrySize:]
		s := segInfo{State: segState(e[0]), Gen: le.Uint64(e[8:]), Live: le.Uint64(e[16:]), FreedAt: le.Uint64(e[24:])}
		if s.State > segFull || !zero(e[1:8]) {
			return nil, fmt.Errorf("%w: checkpoint record: segment %d in state %d", ErrCorrupt, i, e[0])
		}
		r.Segs = append(r.Segs, s)
	}
	return r, nil
}

func zero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// rootPadZero checks the reserved bytes of an encoded Root.
func rootPadZero(b []byte) bool { return zero(b[36:40]) }

func putRoot(b []byte, r btree.Root) {
	le := binary.LittleEndian
	le.PutUint32(b[0:], r.Ptr.Addr.Set)
	le.PutUint64(b[4:], r.Ptr.Addr.Off)
	le.PutUint32(b[12:], r.Ptr.Addr.Len)
	le.PutUint64(b[16:], r.Ptr.Sum)
	le.PutUint64(b[24:], r.Ptr.Gen)
	le.PutUint32(b[32:], uint32(r.Stats.Height))
	le.PutUint64(b[40:], r.Stats.Leaves)
	le.PutUint64(b[48:], r.Stats.Internal)
	le.PutUint64(b[56:], r.Stats.Entries)
	le.PutUint64(b[64:], r.Stats.Bytes)
}

func getRoot(b []byte) btree.Root {
	le := binary.LittleEndian
	var r btree.Root
	r.Ptr.Addr.Set = le.Uint32(b[0:])
	r.Ptr.Addr.Off = le.Uint64(b[4:])
	r.Ptr.Addr.Len = le.Uint32(b[12:])
	r.Ptr.Sum = le.Uint64(b[16:])
	r.Ptr.Gen = le.Uint64(b[24:])
	r.Stats.Height = int(le.Uint32(b[32:]))
	r.Stats.Leaves = le.Uint64(b[40:])
	r.Stats.Internal = le.Uint64(b[48:])
	r.Stats.Entries = le.Uint64(b[56:])
	r.Stats.Bytes = le.Uint64(b[64:])
	return r
}
