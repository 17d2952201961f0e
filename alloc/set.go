package alloc

import (
	"fmt"
	"math"
	"time"
)

const (
	// setVersion is the version of the set entries written; setVersion1
	// entries (no pending replacements) are still read.
	setVersion    = 2
	setVersion1   = 1
	setHeaderSize = 48
	memberSize    = 16
	// replacementSize is a pending replacement in a set entry (version 2).
	replacementSize = 25

	kindEC     = 1
	kindMirror = 2

	metaVersion = 1
	metaSize    = 16
)

// metaKey is the key of the allocator record in alloc.meta.
var metaKey = []byte("alloc")

// SetID names a segment set. 0 is never a set (it is a free segment's set
// id); ids are never reused.
type SetID uint64

// Member is one segment of a set.
type Member struct {
	Drive   uint32 // position
	Segment uint32 // index on the drive
	Gen     uint64 // the segment's generation for this use of it
}

func (m Member) String() string {
	return fmt.Sprintf("segment %d of drive %d", m.Segment, m.Drive)
}

// Set is a segment set: its members, in member order (data, then parity),
// and the state of its stream.
type Set struct {
	ID       SetID
	Layout   Layout
	State    State
	Members  []Member
	Created  time.Time
	Sealed   time.Time // zero while open
	Capacity int64     // bytes the stream can hold
	Frontier int64     // bytes of the stream written
	Live     int64     // bytes of the stream still referenced
	// Replacing is the set's pending member replacements (BeginReplace),
	// by member index; nil when none. A target is not a member until its
	// replacement commits.
	Replacing []Replacement
}

// replacing returns the pending replacement of member i.
func (s Set) replacing(i int) (Replacement, bool) {
	for _, r := range s.Replacing {
		if r.Member == i {
			return r, true
		}
	}
	return Replacement{}, false
}

func (s Set) String() string { return fmt.Sprintf("set %d", s.ID) }

func setKey(id SetID) []byte {
	k := make([]byte, 8)
	be.PutUint64(k, uint64(id))
	return k
}

func decodeSetKey(k []byte) (SetID, error) {
	if len(k) != 8 {
		return 0, fmt.Errorf("%w: set key of %d bytes, want 8", ErrCorrupt, len(k))
	}
	id := SetID(be.Uint64(k))
	if id == 0 {
		return 0, fmt.Errorf("%w: set id 0", ErrCorrupt)
	}
	return id, nil
}

// encode encodes a set entry (always of the current version; the
// replacements must be in member order, as the Set methods keep them).
func (s Set) encode() []byte {
	b := make([]byte, setHeaderSize+memberSize*len(s.Members)+replacementSize*len(s.Replacing))
	b[0] = setVersion
	b[1] = byte(s.State)
	b[5] = byte(len(s.Replacing))
	if s.Layout.Mirrored() {
		b[2], b[3] = kindMirror, byte(s.Layout.Copies)
	} else {
		b[2], b[3], b[4] = kindEC, byte(s.Layout.Data), byte(s.Layout.Parity)
	}
	be.PutUint64(b[8:], uint64(unixNano(s.Created)))
	be.PutUint64(b[16:], uint64(unixNano(s.Sealed)))
	be.PutUint64(b[24:], uint64(s.Capacity))
	be.PutUint64(b[32:], uint64(s.Frontier))
	be.PutUint64(b[40:], uint64(s.Live))
	for i, m := range s.Members {
		p := b[setHeaderSize+memberSize*i:]
		be.PutUint32(p, m.Drive)
		be.PutUint32(p[4:], m.Segment)
		be.PutUint64(p[8:], m.Gen)
	}
	for i, r := range s.Replacing {
		p := b[setHeaderSize+memberSize*len(s.Members)+replacementSize*i:]
		p[0] = byte(r.Member)
		be.PutUint32(p[1:], r.Target.Drive)
		be.PutUint32(p[5:], r.Target.Segment)
		be.PutUint64(p[9:], r.Target.Gen)
		be.PutUint64(p[17:], uint64(unixNano(r.Started)))
	}
	return b
}

// decodeSet decodes a set entry, key and value.
func decodeSet(k, v []byte) (Set, error) {
	id, err := decodeSetKey(k)
	if err != nil {
		return Set{}, err
	}
	s := Set{ID: id}
	fail := func(format string, a ...any) (Set, error) {
		return Set{}, fmt.Errorf("%w: set %d: %s", ErrCorrupt, id, fmt.Sprintf(format, a...))
	}
	switch {
	case len(v) < setHeaderSize:
		return fail("entry of %d bytes, want at least %d", len(v), setHeaderSize)
	case v[0] != setVersion && v[0] != setVersion1:
		return fail("entry version %d, want %d or %d", v[0], setVersion1, setVersion)
	case !State(v[1]).validSet():
		return fail("state %d", v[1])
	}
	// Version 1 has no replacements: its byte 5 is reserved too.
	nr, reserved := 0, v[5:8]
	if v[0] == setVersion {
		nr, reserved = int(v[5]), v[6:8]
	}
	if !zero(reserved) {
		return fail("reserved bytes %x are not zero", reserved)
	}
	s.State = State(v[1])
	switch v[2] {
	case kindEC:
		s.Layout = EC(int(v[3]), int(v[4]))
	case kindMirror:
		if v[4] != 0 {
			return fail("mirror with parity byte %d", v[4])
		}
		s.Layout = Mirror(int(v[3]))
	default:
		return fail("layout kind %d", v[2])
	}
	if err := s.Layout.Validate(); err != nil {
		return fail("%v", err)
	}
	w := s.Layout.Width()
	if nr > w {
		return fail("%d pending replacements of %d members", nr, w)
	}
	if want := setHeaderSize + memberSize*w + replacementSize*nr; len(v) != want {
		return fail("entry of %d bytes for %d members and %d pending replacements, want %d", len(v), w, nr, want)
	}
	s.Created = fromUnixNano(int64(be.Uint64(v[8:])))
	s.Sealed = fromUnixNano(int64(be.Uint64(v[16:])))
	for i, f := range []*int64{&s.Capacity, &s.Frontier, &s.Live} {
		u := be.Uint64(v[24+8*i:])
		if u > math.MaxInt64 {
			return fail("%s %d", [...]string{"capacity", "frontier", "live bytes"}[i], u)
		}
		*f = int64(u)
	}
	s.Members = make([]Member, w)
	for i := range s.Members {
		p := v[setHeaderSize+memberSize*i:]
		m := Member{Drive: be.Uint32(p), Segment: be.Uint32(p[4:]), Gen: be.Uint64(p[8:])}
		if m.Gen == 0 {
			return fail("member %d (%s) of generation 0", i, m)
		}
		s.Members[i] = m
	}
	if nr > 0 {
		s.Replacing = make([]Replacement, nr)
	}
	for i := range s.Replacing {
		p := v[setHeaderSize+memberSize*w+replacementSize*i:]
		r := Replacement{Set: id, Member: int(p[0]),
			Target:  Member{Drive: be.Uint32(p[1:]), Segment: be.Uint32(p[5:]), Gen: be.Uint64(p[9:])},
			Started: fromUnixNano(int64(be.Uint64(p[17:])))}
		switch {
		case r.Member >= w:
			return fail("pending replacement of member %d of %d", r.Member, w)
		case i > 0 && r.Member <= s.Replacing[i-1].Member:
			return fail("pending replacement of member %d after one of member %d", r.Member, s.Replacing[i-1].Member)
		case r.Target.Gen == 0:
			return fail("pending replacement of member %d onto %s of generation 0", r.Member, r.Target)
		}
		s.Replacing[i] = r
	}
	return s, nil
}

// metaRecord is the allocator record.
type metaRecord struct {
	NextSet SetID
}

func (r metaRecord) encode() []byte {
	b := make([]byte, metaSize)
	b[0] = metaVersion
	be.PutUint64(b[8:], uint64(r.NextSet))
	return b
}

func decodeMeta(v []byte) (metaRecord, error) {
	switch {
	case len(v) == 0:
		return metaRecord{}, fmt.Errorf("%w: empty allocator record", ErrCorrupt)
	case v[0] != metaVersion:
		return metaRecord{}, fmt.Errorf("%w: allocator record version %d, want %d", ErrCorrupt, v[0], metaVersion)
	case len(v) != metaSize:
		return metaRecord{}, fmt.Errorf("%w: allocator record of %d bytes, want %d", ErrCorrupt, len(v), metaSize)
	case !zero(v[1:8]):
		return metaRecord{}, fmt.Errorf("%w: allocator record: reserved bytes %x are not zero", ErrCorrupt, v[1:8])
	}
	r := metaRecord{NextSet: SetID(be.Uint64(v[8:]))}
	if r.NextSet == 0 {
		return metaRecord{}, fmt.Errorf("%w: allocator record: next set id 0", ErrCorrupt)
	}
	return r, nil
}
