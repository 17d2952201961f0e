package kv

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/plinth-storage/plinth/btree/store"
)

// Format constants; see the package comment.
const (
	formatVersion = 1
	stateLive     = 1
	stateTomb     = 2
	headerSize    = 10
	recordSize    = 9 // catalogue record
)

// state is a decoded key state.
type state struct {
	tomb    bool
	version uint64
	value   []byte // aliases the encoded bytes
}

// encodeState returns the encoding of a live value or a tombstone.
func encodeState(tomb bool, version uint64, value []byte) []byte {
	b := make([]byte, headerSize, headerSize+len(value))
	b[0] = formatVersion
	b[1] = stateLive
	if tomb {
		b[1] = stateTomb
	}
	binary.BigEndian.PutUint64(b[2:], version)
	if !tomb {
		b = append(b, value...)
	}
	return b
}

// decodeState decodes a key state. The value aliases b.
func decodeState(b []byte) (state, error) {
	if len(b) < headerSize {
		return state{}, fmt.Errorf("kv: %w: state of %d bytes, at least %d", store.ErrCorrupt, len(b), headerSize)
	}
	if b[0] != formatVersion {
		return state{}, fmt.Errorf("kv: %w: state format version %d, want %d", store.ErrCorrupt, b[0], formatVersion)
	}
	s := state{version: binary.BigEndian.Uint64(b[2:])}
	if s.version == 0 {
		return state{}, fmt.Errorf("kv: %w: state of version 0", store.ErrCorrupt)
	}
	switch b[1] {
	case stateLive:
		s.value = b[headerSize:]
	case stateTomb:
		if len(b) != headerSize {
			return state{}, fmt.Errorf("kv: %w: tombstone with %d bytes after its header", store.ErrCorrupt, len(b)-headerSize)
		}
		s.tomb = true
	default:
		return state{}, fmt.Errorf("kv: %w: unknown state %d", store.ErrCorrupt, b[1])
	}
	return s, nil
}

// encodeRecord returns a catalogue record.
func encodeRecord(created time.Time) []byte {
	b := make([]byte, recordSize)
	b[0] = formatVersion
	binary.BigEndian.PutUint64(b[1:], uint64(created.UnixNano()))
	return b
}

// decodeRecord decodes a catalogue record.
func decodeRecord(b []byte) (time.Time, error) {
	if len(b) != recordSize {
		return time.Time{}, fmt.Errorf("kv: %w: catalogue record of %d bytes, want %d", store.ErrCorrupt, len(b), recordSize)
	}
	if b[0] != formatVersion {
		return time.Time{}, fmt.Errorf("kv: %w: catalogue record format version %d, want %d", store.ErrCorrupt, b[0], formatVersion)
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(b[1:]))), nil
}
