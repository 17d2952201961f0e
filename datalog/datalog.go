package datalog

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/plinth-storage/plinth/internal/keyhash"
	"github.com/plinth-storage/plinth/seg"
	"github.com/plinth-storage/plinth/stripe"
)

const (
	// BlockSize is the size of a tagged block of a data unit.
	BlockSize = 4096
	// TagSize is the size of a block's tag, at the end of the block.
	TagSize = 8
	// BlockPayload is the number of stream bytes a block carries.
	BlockPayload = BlockSize - TagSize
	// TagKey is the HighwayHash key of block tags. It is part of the
	// format and never changes.
	TagKey = "plinth data log block tag v1...!"
	// MaxAttempts bounds the choices of parity units a degraded read
	// tries before it gives up.
	MaxAttempts = 1024
)

var (
	// ErrSet: a Set that is not valid for the operation.
	ErrSet = errors.New("invalid segment set")
	// ErrRange: a read outside [0, stream end) or a negative offset.
	ErrRange = errors.New("read outside the stream")
	// ErrFull: the append does not fit the set's stripes.
	ErrFull = errors.New("segment set full")
	// ErrBroken: more than K members of the set were lost to failed
	// writes or flushes (or were missing at Resume); the Writer is
	// unusable.
	ErrBroken = errors.New("data log writer broken: too many members lost")
	// ErrFinished: the Writer was finished (Writer.Finish).
	ErrFinished = errors.New("data log writer finished")
	// ErrUnknownEnd: WrittenEnd of a set with no sequential member; only
	// the caller's own committed frontier says where the stream ends.
	ErrUnknownEnd = errors.New("written end unknown: no member has a write pointer")
	// ErrNoDevice: a member with no device, lost from the start by Resume.
	ErrNoDevice = errors.New("member has no device")
)

// Member is one member segment of a set: where it lies and the identity of
// its current use (written into the segment header by Create).
type Member struct {
	Loc        seg.Location
	Node       uuid.UUID
	Drive      uuid.UUID
	Generation uint64
}

// Set is a segment set: N+K members on distinct devices, member i holding
// unit i of every stripe.
type Set struct {
	ID      uint64
	Layout  stripe.Layout
	Members []Member
}

// geometry is what Writer and Reader derive from a Set.
type geometry struct {
	set         Set
	n, k, unit  int
	bpu         int   // blocks per unit
	stripeBytes int64 // stream bytes per stripe
	stripes     int64 // stripes the set holds
	hdr         []int64
}

// StripeBytes returns the number of stream bytes one stripe of l holds.
func StripeBytes(l stripe.Layout) int64 {
	return int64(l.N) * int64(l.Unit/BlockSize) * BlockPayload
}

// newGeometry validates s. needDevs requires every member to have a device.
func newGeometry(s Set, needDevs bool) (*geometry, error) {
	l := s.Layout
	if err := l.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSet, err)
	}
	if len(s.Members) != l.Members() {
		return nil, fmt.Errorf("%w: %d members for layout %s", ErrSet, len(s.Members), l)
	}
	g := &geometry{set: s, n: l.N, k: l.K, unit: l.Unit, bpu: l.Unit / BlockSize,
		stripeBytes: StripeBytes(l), stripes: -1, hdr: make([]int64, len(s.Members))}
	for i, m := range s.Members {
		if m.Loc.Dev == nil {
			if needDevs {
				return nil, fmt.Errorf("%w: member %d has no device", ErrSet, i)
			}
			continue
		}
		for j := 0; j < i; j++ {
			if s.Members[j].Loc.Dev == m.Loc.Dev {
				return nil, fmt.Errorf("%w: members %d and %d share a device", ErrSet, j, i)
			}
		}
		geo := m.Loc.Dev.Geometry()
		if lb := geo.LogicalBlockSize; lb <= 0 || BlockSize%lb != 0 {
			return nil, fmt.Errorf("%w: member %d: logical block size %d does not divide %d", ErrSet, i, lb, BlockSize)
		}
		bs := geo.WriteUnit(BlockSize)
		if int64(l.Unit)%bs != 0 {
			return nil, fmt.Errorf("%w: member %d: unit %d is not a multiple of the write unit %d", ErrSet, i, l.Unit, bs)
		}
		g.hdr[i] = bs
		n := (m.Loc.Capacity - bs) / int64(l.Unit)
		if n < 0 {
			n = 0
		}
		if g.stripes < 0 || n < g.stripes {
			g.stripes = n
		}
	}
	if g.stripes < 0 { // no member has a device: nothing can be read anyway
		g.stripes = 0
	}
	return g, nil
}

// unitOffset is the device offset of member i's unit of stripe s.
func (g *geometry) unitOffset(i int, s int64) int64 {
	return g.set.Members[i].Loc.Start + g.hdr[i] + s*int64(g.unit)
}

// streamBlock is the stream block number of block j of data unit d of stripe s.
func (g *geometry) streamBlock(s int64, d, j int) uint64 {
	return uint64((s*int64(g.n)+int64(d))*int64(g.bpu) + int64(j))
}

// tag computes the tag of one block's payload.
func tag(set, generation, block uint64, payload []byte) uint64 {
	var id [24]byte
	binary.LittleEndian.PutUint64(id[0:], set)
	binary.LittleEndian.PutUint64(id[8:], generation)
	binary.LittleEndian.PutUint64(id[16:], block)
	return tagHash.Sum64(id[:], payload[:BlockPayload])
}

var tagHash = keyhash.New64([]byte(TagKey))

// sealBlock writes the tag of a block (BlockSize bytes).
func sealBlock(b []byte, set, generation, block uint64) {
	binary.LittleEndian.PutUint64(b[BlockPayload:], tag(set, generation, block, b))
}

// checkBlock reports whether a block's tag matches.
func checkBlock(b []byte, set, generation, block uint64) bool {
	return binary.LittleEndian.Uint64(b[BlockPayload:]) == tag(set, generation, block, b)
}
