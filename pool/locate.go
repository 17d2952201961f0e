package pool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/datalog"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/seg"
)

// Where things lie, for people (the support console): an owner down to the
// drives and logical blocks that hold its records, a segment set and its
// members, one segment. Nothing here changes anything.
//
// The drive addresses follow the data log's format (package datalog,
// "Where stripes live"): unit i of stripe s of a set is at byte
// Start + bs + s*U of member i's segment (bs: the segment's block size,
// the drive's write unit of at least 4096 bytes), and stream block b,
// stream bytes [b*4088, (b+1)*4088), is block b mod (U/4096) of data
// unit (b div (U/4096)) mod N of stripe b div (N*U/4096).

// OwnerLocation is where an owner's bytes lie: its head (the one version
// the index keeps: older versions are dead records, the cleaner's to
// reclaim) and each extent down to drive blocks.
type OwnerLocation struct {
	Pool    string `json:"pool"`
	Owner   string `json:"owner"`
	State   string `json:"state"` // "data" or "tombstone"
	Version uint64 `json:"version"`
	Size    int64  `json:"size"`
	// Attrs is the length of the writer's attributes in the head.
	AttrBytes int `json:"attr_bytes"`
	// Tombstone is the tombstone's record; nil for data, or for a
	// tombstone whose record is pending (not written yet: the pool was
	// out of space when the delete came).
	Tombstone *RecordLocation  `json:"tombstone,omitempty"`
	Pending   bool             `json:"pending,omitempty"`
	Extents   []ExtentLocation `json:"extents"`
	// More: the listing stopped at LocateOptions.Max extents; Next is the
	// logical offset to continue from.
	More bool  `json:"more,omitempty"`
	Next int64 `json:"next,omitempty"`
}

// ExtentLocation is one data record of the owner's bytes.
type ExtentLocation struct {
	Offset   int64  `json:"offset"` // logical offset of its payload in the owner's bytes
	Length   int64  `json:"length"` // payload bytes
	Version  uint64 `json:"version"`
	Checksum string `json:"checksum"` // the payload's HighwayHash-64, hex
	RecordLocation
}

// RecordLocation is a record in a set's stream and the drive blocks of
// its stripe.
type RecordLocation struct {
	Set          uint64 `json:"set"`
	SetState     string `json:"set_state"`
	StreamOffset int64  `json:"stream_offset"`
	RecordBytes  int64  `json:"record_bytes"`
	Stripe       int64  `json:"stripe"`
	// Members are the stripe's units, member by member (data, then
	// parity).
	Members []UnitLocation `json:"members"`
}

// UnitLocation is one member's unit of a stripe on its drive: for a data
// member that holds bytes of the record, the blocks that hold them
// (HoldsRecord); for the other members, the whole unit.
type UnitLocation struct {
	Member      int    `json:"member"`
	Role        string `json:"role"` // "data" or "parity"
	Drive       uint32 `json:"drive"`
	Path        string `json:"path,omitempty"`
	Segment     uint32 `json:"segment"`
	Generation  uint64 `json:"generation"`
	HoldsRecord bool   `json:"holds_record"`
	ByteOffset  int64  `json:"byte_offset"` // on the drive
	Bytes       int64  `json:"bytes"`
	LBA         int64  `json:"lba"`
	LBACount    int64  `json:"lba_count"`
	BlockSize   int    `json:"logical_block_size"`
	// Missing: the drive is not present (its units read as lost).
	Missing bool `json:"missing,omitempty"`
}

// LocateOptions bound a Locate.
type LocateOptions struct {
	From int64 // first logical offset of interest
	Max  int   // most extents listed (default 1000)
}

// Locate returns where owner's current version lies.
func (p *Pool) Locate(ctx context.Context, owner []byte, o LocateOptions) (OwnerLocation, error) {
	if err := checkOwner(owner); err != nil {
		return OwnerLocation{}, err
	}
	if o.Max <= 0 {
		o.Max = 1000
	}
	if o.From < 0 {
		return OwnerLocation{}, fmt.Errorf("%w: locate %q from offset %d", ErrInvalid, owner, o.From)
	}
	view, err := p.st.View(p.heads, p.extents)
	if err != nil {
		return OwnerLocation{}, fmt.Errorf("locate %q: %w", owner, err)
	}
	defer view.Close()
	hv, ok, err := view.Get(p.heads, owner)
	if err != nil {
		return OwnerLocation{}, fmt.Errorf("locate %q: %w", owner, err)
	}
	if !ok {
		return OwnerLocation{}, fmt.Errorf("locate %q: %w", owner, ErrNotFound)
	}
	h, err := decodeHead(hv)
	if err != nil {
		return OwnerLocation{}, fmt.Errorf("locate %q: head: %w", owner, err)
	}
	out := OwnerLocation{Pool: p.name, Owner: string(owner), Version: h.version, Size: h.size, AttrBytes: len(h.attrs), Extents: []ExtentLocation{}}
	if h.state == stateTombstone {
		out.State = "tombstone"
		if h.tomb.set == 0 {
			out.Pending = true
			return out, nil
		}
		rl, err := p.recordLocation(h.tomb, len(owner), h.tomb.off, h.tomb.off+h.tomb.len)
		if err != nil {
			return out, fmt.Errorf("locate %q: tombstone: %w", owner, err)
		}
		out.Tombstone = &rl
		return out, nil
	}
	out.State = "data"
	it, err := view.Iter(p.extents)
	if err != nil {
		return out, fmt.Errorf("locate %q: %w", owner, err)
	}
	prefix := extentPrefix(owner)
	ok = it.SeekLE(extentKey(owner, o.From))
	if !ok || !bytes.HasPrefix(it.Key(), prefix) {
		ok = it.Seek(prefix)
	}
	for ; ok && bytes.HasPrefix(it.Key(), prefix); ok = it.Next() {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		_, eoff, err := parseExtentKey(it.Key())
		if err != nil {
			return out, fmt.Errorf("locate %q: %w", owner, err)
		}
		e, err := decodeExtent(it.Value(), eoff)
		if err != nil {
			return out, fmt.Errorf("locate %q: extent at %d: %w", owner, eoff, err)
		}
		if e.offset+e.payload <= o.From && e.payload > 0 {
			continue
		}
		if len(out.Extents) == o.Max {
			out.More, out.Next = true, e.offset
			break
		}
		// The payload's blocks: the record header holds none of it.
		from := e.dataOffset(len(owner))
		rl, err := p.recordLocation(e.rec, len(owner), from, from+e.payload)
		if err != nil {
			return out, fmt.Errorf("locate %q: extent at %d: %w", owner, eoff, err)
		}
		out.Extents = append(out.Extents, ExtentLocation{Offset: e.offset, Length: e.payload, Version: e.version,
			Checksum: fmt.Sprintf("%016x", e.checksum), RecordLocation: rl})
	}
	if err := it.Err(); err != nil {
		return out, fmt.Errorf("locate %q: extents: %w", owner, err)
	}
	return out, nil
}

// recordLocation places a record and the stream bytes [from, to) of
// interest in it (its payload; the whole record when it has none).
func (p *Pool) recordLocation(r loc, ownerLen int, from, to int64) (RecordLocation, error) {
	s, err := p.al.Lookup(r.set)
	if err != nil {
		return RecordLocation{}, fmt.Errorf("set %d: %w", r.set, err)
	}
	if to <= from {
		from, to = r.off, r.off+r.len
	}
	st := r.off / p.sb
	rl := RecordLocation{Set: uint64(r.set), SetState: s.State.String(), StreamOffset: r.off, RecordBytes: r.len, Stripe: st}
	held := p.dataBlocks(st, from, to)
	for i, m := range s.Members {
		u := p.unitLocation(i, m, st)
		if b, ok := held[i]; ok {
			u.HoldsRecord = true
			u.ByteOffset += b[0] * datalog.BlockSize
			u.Bytes = (b[1] - b[0] + 1) * datalog.BlockSize
		}
		u.setLBAs()
		rl.Members = append(rl.Members, u)
	}
	return rl, nil
}

// dataBlocks returns, by data member, the first and last block of its
// unit of stripe st that hold stream bytes [from, to).
func (p *Pool) dataBlocks(st, from, to int64) map[int][2]int64 {
	bpu := int64(p.layout.Unit / datalog.BlockSize)
	n := int64(p.layout.N)
	out := map[int][2]int64{}
	for b := from / datalog.BlockPayload; b*datalog.BlockPayload < to; b++ {
		if b/(n*bpu) != st {
			continue // not in this stripe (a record never crosses one)
		}
		d := int((b / bpu) % n)
		j := b % bpu
		r, ok := out[d]
		if !ok {
			r = [2]int64{j, j}
		}
		r[0], r[1] = min(r[0], j), max(r[1], j)
		out[d] = r
	}
	return out
}

// unitLocation is member i's whole unit of stripe st.
func (p *Pool) unitLocation(i int, m alloc.Member, st int64) UnitLocation {
	u := UnitLocation{Member: i, Role: "data", Drive: m.Drive, Segment: m.Segment, Generation: m.Gen, Bytes: int64(p.layout.Unit)}
	if i >= p.layout.N {
		u.Role = "parity"
	}
	start, bs, lbs, path := p.segmentPlace(m.Drive, m.Segment)
	u.Path, u.BlockSize, u.Missing = path, lbs, path == ""
	u.ByteOffset = start + bs + st*int64(p.layout.Unit)
	return u
}

func (u *UnitLocation) setLBAs() {
	if u.BlockSize > 0 {
		u.LBA, u.LBACount = u.ByteOffset/int64(u.BlockSize), u.Bytes/int64(u.BlockSize)
	}
}

// segmentPlace returns where a segment starts on its drive, its block
// size (where its first unit starts), the drive's logical block size, and
// the drive's path ("" when the drive is missing).
func (p *Pool) segmentPlace(drive, index uint32) (start, bs int64, lbs int, path string) {
	d, ok := p.drives[drive]
	if !ok {
		return 0, datalog.BlockSize, 0, ""
	}
	l := d.Label
	start = l.Layout.SegmentOffset(index)
	lbs = int(l.LogicalBlockSize)
	bs = max(int64(datalog.BlockSize), int64(lbs))
	if d.Dev != nil {
		g := d.Dev.Geometry()
		bs, lbs, path = g.WriteUnit(datalog.BlockSize), g.LogicalBlockSize, d.Dev.Path()
	}
	return start, bs, lbs, path
}

// SetInfo describes a segment set.
type SetInfo struct {
	Pool        string          `json:"pool"`
	ID          uint64          `json:"id"`
	Layout      string          `json:"layout"`
	Unit        int             `json:"unit"`
	State       string          `json:"state"`
	Created     time.Time       `json:"created"`
	Sealed      time.Time       `json:"sealed,omitzero"`
	Capacity    int64           `json:"capacity"`
	Frontier    int64           `json:"frontier"`
	Live        int64           `json:"live"`
	StripeBytes int64           `json:"stripe_bytes"`
	Stripes     int64           `json:"stripes_written"`
	Members     []MemberInfo    `json:"members"`
	Replacing   []ReplacingInfo `json:"replacing,omitempty"`
	// RepairQueue lists the set's stripes waiting for repair.
	RepairQueue []int64 `json:"repair_queue,omitempty"`
}

// MemberInfo is one member segment of a set on its drive.
type MemberInfo struct {
	Member     int    `json:"member"`
	Role       string `json:"role"`
	Drive      uint32 `json:"drive"`
	Path       string `json:"path,omitempty"`
	Health     string `json:"drive_state"`
	Segment    uint32 `json:"segment"`
	Generation uint64 `json:"generation"`
	ByteOffset int64  `json:"byte_offset"` // the segment's start on the drive
	LBA        int64  `json:"lba"`
	BlockSize  int    `json:"logical_block_size"`
	Missing    bool   `json:"missing,omitempty"`
}

// ReplacingInfo is a member being rebuilt onto another segment.
type ReplacingInfo struct {
	Member  int    `json:"member"`
	Drive   uint32 `json:"drive"`
	Segment uint32 `json:"segment"`
}

// DescribeSet returns a set of the pool, its members and the stripes of
// it queued for repair. A set that does not exist (never, or released)
// is an error wrapping alloc.ErrNoSet.
func (p *Pool) DescribeSet(ctx context.Context, id uint64) (SetInfo, error) {
	s, err := p.al.Lookup(alloc.SetID(id))
	if err != nil {
		return SetInfo{}, fmt.Errorf("pool %s: set %d: %w", p.name, id, err)
	}
	health := map[uint32]string{}
	for _, d := range p.al.Drives() {
		health[d.Position] = d.Health.String()
	}
	out := SetInfo{Pool: p.name, ID: id, Layout: p.layout.String(), Unit: p.layout.Unit, State: s.State.String(), Created: s.Created.UTC(),
		Capacity: s.Capacity, Frontier: s.Frontier, Live: s.Live, StripeBytes: p.sb, Stripes: (s.Frontier + p.sb - 1) / p.sb}
	if !s.Sealed.IsZero() {
		out.Sealed = s.Sealed.UTC()
	}
	for i, m := range s.Members {
		start, _, lbs, path := p.segmentPlace(m.Drive, m.Segment)
		mi := MemberInfo{Member: i, Role: "data", Drive: m.Drive, Path: path, Health: health[m.Drive], Segment: m.Segment, Generation: m.Gen,
			ByteOffset: start, BlockSize: lbs, Missing: path == ""}
		if i >= p.layout.N {
			mi.Role = "parity"
		}
		if lbs > 0 {
			mi.LBA = start / int64(lbs)
		}
		out.Members = append(out.Members, mi)
	}
	for _, r := range s.Replacing {
		out.Replacing = append(out.Replacing, ReplacingInfo{Member: r.Member, Drive: r.Target.Drive, Segment: r.Target.Segment})
	}
	q, err := p.RepairQueue()
	if err != nil {
		return out, fmt.Errorf("pool %s: set %d: repair queue: %w", p.name, id, err)
	}
	for _, e := range q {
		if e.Set == id {
			out.RepairQueue = append(out.RepairQueue, e.Stripe)
		}
	}
	return out, ctx.Err()
}

// SegmentInfo describes one data segment of a drive of the pool.
type SegmentInfo struct {
	Pool       string    `json:"pool"`
	Drive      uint32    `json:"drive"`
	Path       string    `json:"path,omitempty"`
	Index      uint32    `json:"index"`
	State      string    `json:"state"`
	Generation uint64    `json:"generation"`
	Set        uint64    `json:"set,omitempty"`
	Member     *int      `json:"member,omitempty"` // its member index in Set
	Live       int64     `json:"live"`
	Changed    time.Time `json:"changed,omitzero"`
	ByteOffset int64     `json:"byte_offset"`
	Capacity   int64     `json:"capacity"`
	LBA        int64     `json:"lba"`
	LBACount   int64     `json:"lba_count"`
	BlockSize  int       `json:"logical_block_size"`
	// The zone, on a zoned drive: its condition and write pointer
	// (bytes written from the segment's start).
	Zone         string `json:"zone,omitempty"`
	WritePointer *int64 `json:"write_pointer,omitempty"`
}

// DescribeSegment returns a data segment's entry in the allocator's table
// and where it lies. A segment of the metadata ranges has none (an error
// wrapping alloc.ErrInvalid).
func (p *Pool) DescribeSegment(drive, index uint32) (SegmentInfo, error) {
	sg, err := p.al.Segment(drive, index)
	if err != nil {
		return SegmentInfo{}, fmt.Errorf("pool %s: drive %d: %w", p.name, drive, err)
	}
	start, _, lbs, path := p.segmentPlace(drive, index)
	out := SegmentInfo{Pool: p.name, Drive: drive, Path: path, Index: index, State: sg.State.String(), Generation: sg.Gen,
		Set: uint64(sg.Set), Live: sg.Live, ByteOffset: start, BlockSize: lbs}
	if !sg.Time.IsZero() {
		out.Changed = sg.Time.UTC()
	}
	if d, ok := p.drives[drive]; ok {
		out.Capacity = d.Label.Layout.SegmentSize
		if d.Dev != nil {
			if l, err := seg.Locate(d.Dev, d.Label.Layout, index); err == nil {
				out.Capacity = l.Capacity
				if l.Sequential {
					p.zoneOf(&out, l)
				}
			}
		}
	}
	if lbs > 0 {
		out.LBA, out.LBACount = start/int64(lbs), out.Capacity/int64(lbs)
	}
	if sg.Set != 0 {
		if s, err := p.al.Lookup(sg.Set); err == nil {
			for i, m := range s.Members {
				if m.Drive == drive && m.Segment == index {
					out.Member = &i
				}
			}
		} else if !errors.Is(err, alloc.ErrNoSet) {
			return out, fmt.Errorf("pool %s: set %d: %w", p.name, sg.Set, err)
		}
	}
	return out, nil
}

// zoneOf fills in the zone of a sequential segment.
func (p *Pool) zoneOf(out *SegmentInfo, l seg.Location) {
	z, ok := dev.AsZoned(l.Dev)
	if !ok {
		return
	}
	zs, err := z.ReportZones(l.Start, 1)
	if err != nil || len(zs) != 1 {
		return
	}
	out.Zone = zs[0].Cond.String()
	wp := zs[0].Written()
	out.WritePointer = &wp
}
