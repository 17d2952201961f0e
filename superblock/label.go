package superblock

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/plinth-storage/plinth/io/dev"
)

// LabelBodySize is the size of a version 1 label body.
const LabelBodySize = 192

// knownIncompat is the set of incompatible-feature bits this binary
// understands.
const knownIncompat uint64 = 0

// Label is a drive's identity in its node and the layout of the drive.
type Label struct {
	Node       uuid.UUID
	Drive      uuid.UUID
	Position   uint32 // the drive's index in the node, 0-based
	NodeDrives uint32 // how many drives the node was formatted with
	Incompat   uint64 // incompatible feature bits
	Created    time.Time

	DeviceSize        int64
	LogicalBlockSize  uint32
	PhysicalBlockSize uint32
	ZoneModel         dev.ZoneModel
	NrZones           uint32
	ZoneSize          int64

	Layout
	Meta
	Checkpoint Checkpoint
}

// Meta is the drive's share of the node's metadata: a journal ring and
// metadata segments, both ranges of its segments. Drives without metadata
// have zero counts; a node's metadata mirrors have the same ranges.
type Meta struct {
	RingFirst, RingCount uint32 // journal ring segments
	SegFirst, SegCount   uint32 // metadata (B-tree node) segments
}

// Holds reports whether the drive is a metadata mirror.
func (m Meta) Holds() bool { return m.SegCount > 0 }

// Checkpoint points at the node's newest durable checkpoint record, kept
// in the metadata segments (see package btree/store). Gen 0: none yet.
type Checkpoint struct {
	Gen uint64 // checkpoint generation
	LSN uint64 // the journal is replayed from LSN+1
	Set uint32 // metadata segment (index within the drive's metadata range)
	Len uint32 // bytes of the record
	Off uint64 // offset of the record in the segment
	Sum uint64 // the record's checksum
}

// Layout is where things live on the drive.
type Layout struct {
	SegmentSize  int64
	FirstSegment int64 // byte offset of segment 0
	NrSegments   uint32
	Area         [2]int64 // byte offsets of the superblock areas
	AreaLen      int64    // bytes of each area used for records
}

// SegmentOffset returns the byte offset of segment i.
func (l Layout) SegmentOffset(i uint32) int64 { return l.FirstSegment + int64(i)*l.SegmentSize }

func (l Label) encode() []byte {
	b := make([]byte, LabelBodySize)
	copy(b[0:], l.Node[:])
	copy(b[16:], l.Drive[:])
	le := binary.LittleEndian
	le.PutUint32(b[32:], l.Position)
	le.PutUint32(b[36:], l.NodeDrives)
	le.PutUint64(b[40:], l.Incompat)
	le.PutUint64(b[48:], uint64(l.Created.UnixNano()))
	le.PutUint64(b[56:], uint64(l.DeviceSize))
	le.PutUint32(b[64:], l.LogicalBlockSize)
	le.PutUint32(b[68:], l.PhysicalBlockSize)
	b[72] = byte(l.ZoneModel)
	le.PutUint32(b[76:], l.NrZones)
	le.PutUint64(b[80:], uint64(l.ZoneSize))
	le.PutUint64(b[88:], uint64(l.SegmentSize))
	le.PutUint64(b[96:], uint64(l.FirstSegment))
	le.PutUint32(b[104:], l.NrSegments)
	le.PutUint64(b[112:], uint64(l.Area[0]))
	le.PutUint64(b[120:], uint64(l.Area[1]))
	le.PutUint64(b[128:], uint64(l.AreaLen))
	c := l.Checkpoint
	le.PutUint64(b[136:], c.Gen)
	le.PutUint64(b[144:], c.LSN)
	le.PutUint32(b[152:], c.Set)
	le.PutUint32(b[156:], c.Len)
	le.PutUint64(b[160:], c.Off)
	le.PutUint64(b[168:], c.Sum)
	le.PutUint32(b[176:], l.RingFirst)
	le.PutUint32(b[180:], l.RingCount)
	le.PutUint32(b[184:], l.SegFirst)
	le.PutUint32(b[188:], l.SegCount)
	return b
}

// decodeLabel decodes and validates a label body. Bodies longer than
// version 1 (fields appended by later versions) are accepted; the
// incompatible-feature bits say whether they may be ignored.
func decodeLabel(b []byte) (Label, error) {
	if len(b) < LabelBodySize {
		return Label{}, fmt.Errorf("%w: label body of %d bytes, want at least %d", ErrCorrupt, len(b), LabelBodySize)
	}
	le := binary.LittleEndian
	var l Label
	copy(l.Node[:], b[0:16])
	copy(l.Drive[:], b[16:32])
	l.Position = le.Uint32(b[32:])
	l.NodeDrives = le.Uint32(b[36:])
	l.Incompat = le.Uint64(b[40:])
	l.Created = normalTime(time.Unix(0, int64(le.Uint64(b[48:]))))
	l.DeviceSize = int64(le.Uint64(b[56:]))
	l.LogicalBlockSize = le.Uint32(b[64:])
	l.PhysicalBlockSize = le.Uint32(b[68:])
	l.ZoneModel = dev.ZoneModel(b[72])
	l.NrZones = le.Uint32(b[76:])
	l.ZoneSize = int64(le.Uint64(b[80:]))
	l.SegmentSize = int64(le.Uint64(b[88:]))
	l.FirstSegment = int64(le.Uint64(b[96:]))
	l.NrSegments = le.Uint32(b[104:])
	l.Area[0] = int64(le.Uint64(b[112:]))
	l.Area[1] = int64(le.Uint64(b[120:]))
	l.AreaLen = int64(le.Uint64(b[128:]))
	c := &l.Checkpoint
	c.Gen = le.Uint64(b[136:])
	c.LSN = le.Uint64(b[144:])
	c.Set = le.Uint32(b[152:])
	c.Len = le.Uint32(b[156:])
	c.Off = le.Uint64(b[160:])
	c.Sum = le.Uint64(b[168:])
	l.RingFirst = le.Uint32(b[176:])
	l.RingCount = le.Uint32(b[180:])
	l.SegFirst = le.Uint32(b[184:])
	l.SegCount = le.Uint32(b[188:])
	if unknown := l.Incompat &^ knownIncompat; unknown != 0 {
		return Label{}, fmt.Errorf("%w: incompatible features %#x that this binary does not know", ErrUnsupported, unknown)
	}
	if err := l.validate(); err != nil {
		return Label{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return l, nil
}

// normalTime is t as a decoded label holds it: UTC, nanoseconds, no
// monotonic reading, so labels compare equal after a round trip.
func normalTime(t time.Time) time.Time { return time.Unix(0, t.UnixNano()).UTC() }

// validate checks the label's internal consistency (not against a device).
func (l Label) validate() error {
	switch {
	case l.Node == uuid.Nil || l.Drive == uuid.Nil:
		return fmt.Errorf("nil node or drive UUID")
	case l.NodeDrives == 0 || l.Position >= l.NodeDrives:
		return fmt.Errorf("position %d outside a node of %d drives", l.Position, l.NodeDrives)
	case l.LogicalBlockSize < 512 || l.LogicalBlockSize&(l.LogicalBlockSize-1) != 0:
		return fmt.Errorf("logical block size %d", l.LogicalBlockSize)
	case l.ZoneModel > dev.ZoneModelHostManaged:
		return fmt.Errorf("zone model %d", l.ZoneModel)
	case l.DeviceSize <= 0:
		return fmt.Errorf("device size %d", l.DeviceSize)
	case l.ZoneModel != dev.ZoneModelNone && (l.ZoneSize <= 0 || l.NrZones < 3):
		return fmt.Errorf("zoned drive with zone size %d and %d zones", l.ZoneSize, l.NrZones)
	case l.SegmentSize <= 0 || l.SegmentSize%int64(l.LogicalBlockSize) != 0:
		return fmt.Errorf("segment size %d", l.SegmentSize)
	case l.AreaLen < SlotSize || l.AreaLen%ScanStep != 0:
		return fmt.Errorf("area length %d", l.AreaLen)
	}
	for _, a := range l.Area {
		if a < 0 || a%ScanStep != 0 || a > l.DeviceSize-l.AreaLen {
			return fmt.Errorf("area at %d of length %d outside the %d-byte device", a, l.AreaLen, l.DeviceSize)
		}
	}
	if l.FirstSegment < 0 || l.FirstSegment > l.DeviceSize || int64(l.NrSegments) > (l.DeviceSize-l.FirstSegment)/l.SegmentSize {
		return fmt.Errorf("%d segments of %d bytes from %d do not fit the %d-byte device", l.NrSegments, l.SegmentSize, l.FirstSegment, l.DeviceSize)
	}
	return l.validateMeta()
}

// validateMeta checks the metadata ranges and the checkpoint pointer.
func (l Label) validateMeta() error {
	ring := [2]uint64{uint64(l.RingFirst), uint64(l.RingFirst) + uint64(l.RingCount)}
	segs := [2]uint64{uint64(l.SegFirst), uint64(l.SegFirst) + uint64(l.SegCount)}
	switch {
	case ring[1] > uint64(l.NrSegments) || segs[1] > uint64(l.NrSegments):
		return fmt.Errorf("metadata ranges (journal %d+%d, segments %d+%d) beyond the %d segments", l.RingFirst, l.RingCount, l.SegFirst, l.SegCount, l.NrSegments)
	case (l.RingCount == 0) != (l.SegCount == 0):
		return fmt.Errorf("a journal ring of %d segments with %d metadata segments", l.RingCount, l.SegCount)
	case l.RingCount > 0 && ring[0] < segs[1] && segs[0] < ring[1]:
		return fmt.Errorf("journal segments %d+%d overlap metadata segments %d+%d", l.RingFirst, l.RingCount, l.SegFirst, l.SegCount)
	}
	c := l.Checkpoint
	switch {
	case c.Gen == 0 && c != (Checkpoint{}):
		return fmt.Errorf("checkpoint fields set without a generation")
	case c.Gen != 0 && l.SegCount == 0:
		return fmt.Errorf("checkpoint %d on a drive without metadata segments", c.Gen)
	case c.Gen != 0 && (c.Set >= l.SegCount || c.Len == 0 || int64(c.Off)+int64(c.Len) > l.SegmentSize || int64(c.Off) < 0):
		return fmt.Errorf("checkpoint %d record at segment %d offset %d length %d outside the metadata segments", c.Gen, c.Set, c.Off, c.Len)
	}
	return nil
}

// matches reports whether the label describes geometry g, so that a label
// copied to another device, or a device whose size changed, is not trusted.
func (l Label) matches(g dev.Geometry) error {
	switch {
	case l.DeviceSize != g.Size:
		return fmt.Errorf("label says the device holds %d bytes, the device has %d", l.DeviceSize, g.Size)
	case int(l.LogicalBlockSize) != g.LogicalBlockSize:
		return fmt.Errorf("label says %d-byte logical blocks, the device has %d", l.LogicalBlockSize, g.LogicalBlockSize)
	case l.ZoneModel != g.Zoned:
		return fmt.Errorf("label says zone model %s, the device is %s", l.ZoneModel, g.Zoned)
	case l.ZoneModel != dev.ZoneModelNone && (l.ZoneSize != g.ZoneSize || int(l.NrZones) != g.NrZones):
		return fmt.Errorf("label says %d zones of %d bytes, the device has %d of %d", l.NrZones, l.ZoneSize, g.NrZones, g.ZoneSize)
	}
	return nil
}
