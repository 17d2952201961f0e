package beck

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"

	"github.com/plinth-storage/plinth/pool"
)

// A staging entry is one record found in a pool's logs (doc.go specifies
// its key and value). Keys sort by owner, then version from the newest,
// then tombstones before attrs before data, then offset: the index phase
// reads each owner's versions newest first.

// Ranks order the kinds of one version.
const (
	rankTombstone = 0
	rankAttrs     = 1
	rankData      = 2
	// rankDamaged is a data record whose header was found in a stripe
	// too damaged to read, and whose payload could not be: its owner,
	// version and place are known, its bytes are not.
	rankDamaged = 3
)

func rankOf(k pool.RecordKind) byte {
	switch k {
	case pool.RecordTombstone:
		return rankTombstone
	case pool.RecordAttrs:
		return rankAttrs
	}
	return rankData
}

const stagingValueFixed = 34

// stagingKey is the key of a record found at set, at.
func stagingKey(r *pool.LogRecord, set uint64) []byte {
	return stagingKeyRank(r, set, rankOf(r.Kind))
}

// stagingKeyRank is stagingKey with the rank given.
func stagingKeyRank(r *pool.LogRecord, set uint64, rank byte) []byte {
	k := make([]byte, 0, 2+len(r.Owner)+8+1+8+4)
	k = binary.BigEndian.AppendUint16(k, uint16(len(r.Owner)))
	k = append(k, r.Owner...)
	k = binary.BigEndian.AppendUint64(k, ^r.Version)
	k = append(k, rank)
	k = binary.BigEndian.AppendUint64(k, uint64(r.Offset))
	h := fnv.New32a()
	var where [16]byte
	binary.BigEndian.PutUint64(where[:], set)
	binary.BigEndian.PutUint64(where[8:], uint64(r.At))
	h.Write(where[:])
	return binary.BigEndian.AppendUint32(k, h.Sum32())
}

// stagingValue is what the index phase needs of a record: where it is,
// and an attrs record's payload.
func stagingValue(r *pool.LogRecord, set uint64) []byte {
	v := make([]byte, stagingValueFixed, stagingValueFixed+len(r.Payload))
	v[0], v[1] = 1, r.Format
	binary.BigEndian.PutUint64(v[2:], set)
	binary.BigEndian.PutUint64(v[10:], uint64(r.At))
	binary.BigEndian.PutUint32(v[18:], uint32(r.Len))
	binary.BigEndian.PutUint32(v[22:], uint32(r.Len-pool.RecordHeaderLen(len(r.Owner))))
	binary.BigEndian.PutUint64(v[26:], r.Checksum)
	if r.Kind == pool.RecordAttrs {
		v = append(v, r.Payload...)
	}
	return v
}

// staged is a decoded staging entry.
type staged struct {
	owner    []byte
	version  uint64
	rank     byte
	offset   int64
	rec      pool.RecordLoc
	payload  int64
	checksum uint64
	chunk    []byte // attrs: the record's payload
}

func (s staged) end() int64 { return s.offset + s.payload }

// decodeStaged decodes a staging entry; the slices it returns are
// copies.
func decodeStaged(k, v []byte) (staged, error) {
	var s staged
	if len(k) < 2 {
		return s, fmt.Errorf("staging key of %d bytes", len(k))
	}
	n := int(binary.BigEndian.Uint16(k))
	if n == 0 || len(k) != 2+n+8+1+8+4 {
		return s, fmt.Errorf("staging key of %d bytes with an owner of %d", len(k), n)
	}
	s.owner = append([]byte(nil), k[2:2+n]...)
	s.version = ^binary.BigEndian.Uint64(k[2+n:])
	s.rank = k[2+n+8]
	s.offset = int64(binary.BigEndian.Uint64(k[2+n+9:]))
	if len(v) < stagingValueFixed || v[0] != 1 || s.rank > rankDamaged || s.offset < 0 {
		return s, fmt.Errorf("staging entry of %q: value of %d bytes, version %d, rank %d", s.owner, len(v), firstByte(v), s.rank)
	}
	s.rec = pool.RecordLoc{Set: binary.BigEndian.Uint64(v[2:]), At: int64(binary.BigEndian.Uint64(v[10:])), Len: int64(binary.BigEndian.Uint32(v[18:]))}
	s.payload = int64(binary.BigEndian.Uint32(v[22:]))
	s.checksum = binary.BigEndian.Uint64(v[26:])
	switch {
	case s.rank == rankAttrs && int64(len(v)-stagingValueFixed) != s.payload:
		return s, fmt.Errorf("staging entry of %q: attrs chunk of %d bytes, %d stored", s.owner, s.payload, len(v)-stagingValueFixed)
	case s.rank != rankAttrs && len(v) != stagingValueFixed:
		return s, fmt.Errorf("staging entry of %q: value of %d bytes", s.owner, len(v))
	}
	if s.rank == rankAttrs {
		s.chunk = append([]byte(nil), v[stagingValueFixed:]...)
	}
	return s, nil
}

// ownerPrefix is the part of staging keys that names an owner.
func ownerPrefix(owner []byte) []byte {
	k := binary.BigEndian.AppendUint16(nil, uint16(len(owner)))
	return append(k, owner...)
}
