package superblock

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/plinth-storage/plinth/io/dev"
)

// ErrNoLabel: the drive carries no Plinth label: both areas are empty.
var ErrNoLabel = errors.New("no Plinth label")

// ErrDamaged: the drive carried a label, but no record of it is readable;
// the error lists the damaged slots. It is not ErrNoLabel: the drive is not
// blank, and formatting it would destroy what repair might save.
var ErrDamaged = errors.New("damaged Plinth label")

// Log is an open drive's label log. It is safe for concurrent use.
type Log struct {
	mu     sync.Mutex
	d      dev.Device
	z      dev.ZonedDevice // nil on conventional drives
	areas  [2]area
	slot   int64
	label  Label
	seq    uint64
	active int   // the area holding the newest record
	next   int64 // where in the active area the next record goes
	damage []Damage
}

// Format writes a first label to d, destroying any label it carried. The
// caller sets the identity fields (Node, Drive, Position, NodeDrives,
// Created) and optionally SegmentSize; Format fills in the geometry and the
// layout.
func Format(d dev.Device, l Label) (*Log, error) {
	l, areas, err := plan(d, l)
	if err != nil {
		return nil, err
	}
	lg := &Log{d: d, areas: areas, slot: slotSize(d.Geometry())}
	lg.z, _ = dev.AsZoned(d)
	// Erase both areas so no record of an earlier format can outrank the
	// new label's sequence number 1.
	for i := range areas {
		if err := lg.erase(i); err != nil {
			return nil, fmt.Errorf("format %s: %w", d.Path(), err)
		}
	}
	if err := lg.writeRecord(0, 0, 1, l); err != nil {
		return nil, fmt.Errorf("format %s: %w", d.Path(), err)
	}
	lg.label, lg.seq, lg.active, lg.next = l, 1, 0, lg.slot
	return lg, nil
}

// Plan returns the label Format would write on d, without writing: the
// identity fields from l, the geometry from d, the layout from the
// geometry and l.SegmentSize. Formatting several drives plans them all
// first, so that a drive that cannot be formatted stops the format before
// any drive is touched.
func Plan(d dev.Device, l Label) (Label, error) {
	l, _, err := plan(d, l)
	return l, err
}

func plan(d dev.Device, l Label) (Label, [2]area, error) {
	g := d.Geometry()
	areas, err := deviceAreas(d)
	if err != nil {
		return Label{}, areas, fmt.Errorf("format %s: %w", d.Path(), err)
	}
	if l.Layout, err = planLayout(g, areas, l.SegmentSize); err != nil {
		return Label{}, areas, fmt.Errorf("format %s: %w", d.Path(), err)
	}
	l.Created = normalTime(l.Created)
	l.DeviceSize = g.Size
	l.LogicalBlockSize = uint32(g.LogicalBlockSize)
	l.PhysicalBlockSize = uint32(g.PhysicalBlockSize)
	l.ZoneModel = g.Zoned
	if g.Zoned != dev.ZoneModelNone {
		l.NrZones, l.ZoneSize = uint32(g.NrZones), g.ZoneSize
	}
	if err := l.validate(); err != nil {
		return Label{}, areas, fmt.Errorf("format %s: invalid label: %w", d.Path(), err)
	}
	return l, areas, nil
}

// Open reads the newest valid label from d. It fails with ErrNoLabel on a
// blank drive, ErrUnsupported on a drive of a newer format, and with a
// mismatch error when the label does not describe d's geometry.
func Open(d dev.Device) (*Log, error) {
	lg := &Log{d: d, slot: slotSize(d.Geometry())}
	lg.z, _ = dev.AsZoned(d)
	var err error
	if lg.areas, err = deviceAreas(d); err != nil {
		return nil, fmt.Errorf("read label %s: %w", d.Path(), err)
	}
	r, wps, err := lg.scan()
	if err != nil {
		return nil, fmt.Errorf("read label %s: %w", d.Path(), err)
	}
	best, err := r.result(d.Path())
	if err != nil {
		return nil, fmt.Errorf("read label: %w", err)
	}
	if err := best.label.matches(d.Geometry()); err != nil {
		return nil, fmt.Errorf("read label %s: the label does not describe this device: %s", d.Path(), err)
	}
	lg.label, lg.seq, lg.active, lg.damage = best.label, best.seq, best.area, r.damage
	lg.next = best.off + lg.slot
	if a := lg.areas[best.area]; a.sequential {
		lg.next = max(lg.next, dev.RoundUp(wps[best.area]-a.off, lg.slot))
	}
	return lg, nil
}

// scan reads the written part of both areas and decodes every slot. It
// returns the write pointers of sequential areas.
func (lg *Log) scan() (*scanResult, [2]int64, error) {
	var r scanResult
	var wps [2]int64
	var readErr error
	for i, a := range lg.areas {
		n := a.len
		if a.sequential {
			wp, err := lg.writePointer(i)
			if err != nil {
				return nil, wps, err
			}
			wps[i] = wp
			n = min(n, dev.RoundUp(wp-a.off, int64(lg.d.Geometry().LogicalBlockSize)))
		}
		buf := dev.AlignedBuffer(int(n))
		var err error
		for range readTries {
			if _, err = lg.d.ReadAt(buf, a.off); err == nil {
				break
			}
		}
		if err != nil {
			// The other area may hold the label: a drive with one bad
			// area still opens (the damage is reported). Only when
			// neither can be read is the error returned.
			r.damage = append(r.damage, Damage{Area: i, Offset: a.off, Err: err})
			if readErr != nil {
				return nil, wps, fmt.Errorf("both areas unreadable: area 0: %w; area %d: %w", readErr, i, err)
			}
			readErr = err
			continue
		}
		r.scanArea(i, a.off, buf)
	}
	return &r, wps, nil
}

// readTries is how often an area's read is tried before the area counts
// as unreadable (an IO error may be transient: a link reset, a path
// failing over).
const readTries = 3

// Check re-reads both areas and verifies that the newest valid record on
// the media is the one this Log believes current. Damaged older slots are
// not errors (see Damage).
func (lg *Log) Check() error {
	lg.mu.Lock()
	defer lg.mu.Unlock()
	r, _, err := lg.scan()
	if err != nil {
		return fmt.Errorf("check label %s: %w", lg.d.Path(), err)
	}
	best, err := r.result(lg.d.Path())
	if err != nil {
		return fmt.Errorf("check label: %w", err)
	}
	if best.seq != lg.seq || best.label != lg.label {
		return fmt.Errorf("check label %s: newest record on the media is sequence %d in area %d, the log holds sequence %d", lg.d.Path(), best.seq, best.area, lg.seq)
	}
	if best.area != lg.active || best.off+lg.slot > lg.next {
		return fmt.Errorf("check label %s: newest record at area %d offset %d, but the log appends to area %d offset %d", lg.d.Path(), best.area, best.off, lg.active, lg.next)
	}
	return nil
}

// Label returns the current label.
func (lg *Log) Label() Label {
	lg.mu.Lock()
	defer lg.mu.Unlock()
	return lg.label
}

// Seq returns the sequence number of the current label record.
func (lg *Log) Seq() uint64 {
	lg.mu.Lock()
	defer lg.mu.Unlock()
	return lg.seq
}

// Damage lists the damaged slots Open found. Damage in older records is
// harmless (the newest valid record wins) but worth reporting.
func (lg *Log) Damage() []Damage {
	lg.mu.Lock()
	defer lg.mu.Unlock()
	return append([]Damage(nil), lg.damage...)
}

// Update makes l the drive's label, durably, when it returns nil. The
// geometry and layout may not change. After an error the drive holds either
// the old or the new label, and the next Open says which.
func (lg *Log) Update(l Label) error {
	lg.mu.Lock()
	defer lg.mu.Unlock()
	l.Created = normalTime(l.Created)
	if l.Layout != lg.label.Layout || l.Meta != lg.label.Meta || l.matches(lg.d.Geometry()) != nil {
		return fmt.Errorf("update label %s: the geometry, layout and metadata ranges of a drive never change", lg.d.Path())
	}
	if err := l.validate(); err != nil {
		return fmt.Errorf("update label %s: invalid label: %w", lg.d.Path(), err)
	}
	seq := lg.seq + 1
	if lg.next+lg.slot <= lg.areas[lg.active].len {
		if err := lg.writeRecord(lg.active, lg.next, seq, l); err != nil {
			return fmt.Errorf("update label %s: %w", lg.d.Path(), err)
		}
		lg.label, lg.seq, lg.next = l, seq, lg.next+lg.slot
		return nil
	}
	// The active area is full: restart the other one with the new record.
	// The full area keeps the newest durable record until this one is.
	// Finishing it first releases its active-zone resource before the
	// other zone takes one, so the log never holds two.
	old, other := lg.active, 1-lg.active
	if lg.areas[old].sequential {
		if err := lg.z.FinishZone(lg.areas[old].off); err != nil {
			return fmt.Errorf("update label %s: finish full area %d: %w", lg.d.Path(), old, err)
		}
	}
	if err := lg.erase(other); err != nil {
		return fmt.Errorf("update label %s: %w", lg.d.Path(), err)
	}
	if err := lg.writeRecord(other, 0, seq, l); err != nil {
		return fmt.Errorf("update label %s: %w", lg.d.Path(), err)
	}
	lg.label, lg.seq, lg.active, lg.next = l, seq, other, lg.slot
	return nil
}

// writeRecord writes a record at offset off of area i and flushes.
func (lg *Log) writeRecord(i int, off int64, seq uint64, l Label) error {
	a := lg.areas[i]
	if a.sequential {
		wp, err := lg.writePointer(i)
		if err != nil {
			return err
		}
		if pad := a.off + off - wp; pad > 0 {
			// A torn write left the write pointer between slots.
			if _, err := lg.d.WriteAt(dev.AlignedBuffer(int(pad)), wp); err != nil {
				return fmt.Errorf("pad area %d: %w", i, err)
			}
		} else if pad < 0 {
			return fmt.Errorf("area %d: write pointer %d is past the next slot %d", i, wp, a.off+off)
		}
	}
	buf := dev.AlignedBuffer(int(lg.slot))
	if err := EncodeRecord(buf, seq, l.encode()); err != nil {
		return err
	}
	if _, err := lg.d.WriteAt(buf, a.off+off); err != nil {
		return fmt.Errorf("write area %d: %w", i, err)
	}
	if err := lg.d.Flush(); err != nil {
		return fmt.Errorf("flush area %d: %w", i, err)
	}
	if a.sequential && off+lg.slot < a.capacity {
		// Give the open-zone resource back; the zone stays active. (A
		// zone this record filled is full, holding neither resource.)
		if err := lg.z.CloseZone(a.off); err != nil {
			return fmt.Errorf("close area %d: %w", i, err)
		}
	}
	return nil
}

// erase empties area i: a zone reset, or zeros over a conventional area.
func (lg *Log) erase(i int) error {
	a := lg.areas[i]
	if a.sequential {
		if err := lg.z.ResetZone(a.off); err != nil {
			return fmt.Errorf("reset area %d: %w", i, err)
		}
		return nil
	}
	if _, err := lg.d.WriteAt(dev.AlignedBuffer(int(a.len)), a.off); err != nil {
		return fmt.Errorf("erase area %d: %w", i, err)
	}
	return lg.d.Flush()
}

func (lg *Log) writePointer(i int) (int64, error) {
	zs, err := lg.z.ReportZones(lg.areas[i].off, 1)
	if err != nil {
		return 0, fmt.Errorf("area %d: %w", i, err)
	}
	if len(zs) != 1 {
		return 0, fmt.Errorf("area %d: zone report returned %d zones", i, len(zs))
	}
	if zs[0].Cond == dev.ZoneCondFull {
		return zs[0].Start + zs[0].Capacity, nil
	}
	return zs[0].WritePointer, nil
}

// Probe reads a label without owning the device: for the drive inventory,
// which must not disturb drives it does not own. zoneSize is 0 for
// conventional drives. Slots that cannot be read (past a zone's write
// pointer on some drives) end that area's scan.
func Probe(r io.ReaderAt, size, zoneSize int64, path string) (Label, error) {
	g := dev.Geometry{Size: size, ZoneSize: zoneSize}
	if zoneSize > 0 {
		g.Zoned = dev.ZoneModelHostManaged
	}
	offs, n := areaPlace(g)
	var res scanResult
	for i, off := range offs {
		buf := make([]byte, n)
		got := 0
		for got < len(buf) {
			m, err := r.ReadAt(buf[got:got+ScanStep], off+int64(got))
			got += m
			if err != nil {
				break
			}
		}
		res.scanArea(i, off, buf[:got])
	}
	best, err := res.result(path)
	if err != nil {
		return Label{}, err
	}
	return best.label, nil
}
