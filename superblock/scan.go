package superblock

import (
	"errors"
	"fmt"

	"github.com/plinth-storage/plinth/io/dev"
)

// found is the newest valid record seen in a scan.
type found struct {
	label Label
	seq   uint64
	area  int
	off   int64 // offset of the record within its area
}

// Damage is a slot that holds something other than a valid record or an
// empty slot.
type Damage struct {
	Area   int
	Offset int64 // byte offset on the device
	Err    error
}

func (d Damage) String() string {
	return fmt.Sprintf("area %d, byte %d: %v", d.Area, d.Offset, d.Err)
}

// scan holds the result of reading both areas.
type scanResult struct {
	best        *found
	damage      []Damage
	unsupported error // the first record of a format this binary cannot read
}

// scanArea decodes every ScanStep-aligned slot of buf, which holds the
// readable part of area i (starting at device offset areaOff), into r.
func (r *scanResult) scanArea(i int, areaOff int64, buf []byte) {
	for off := 0; off+HeaderSize <= len(buf); off += ScanStep {
		rec, err := DecodeRecord(buf[off:min(off+SlotSize, len(buf))])
		if errors.Is(err, ErrEmptySlot) {
			continue
		}
		var l Label
		if err == nil {
			l, err = decodeLabel(rec.Body)
		}
		if errors.Is(err, ErrUnsupported) {
			if r.unsupported == nil {
				r.unsupported = fmt.Errorf("area %d, byte %d: %w", i, areaOff+int64(off), err)
			}
			continue
		}
		if err != nil {
			r.damage = append(r.damage, Damage{Area: i, Offset: areaOff + int64(off), Err: err})
			continue
		}
		if r.best == nil || rec.Seq > r.best.seq {
			r.best = &found{label: l, seq: rec.Seq, area: i, off: int64(off)}
		}
	}
}

// result turns a scan into the label or the error that explains why there
// is none.
func (r *scanResult) result(path string) (*found, error) {
	if r.unsupported != nil {
		return nil, fmt.Errorf("%s: %w (was the drive formatted by a newer Plinth?)", path, r.unsupported)
	}
	if r.best != nil {
		return r.best, nil
	}
	if len(r.damage) > 0 {
		// An area that could not be read may hold the label: say it is
		// an IO error (the drive failing), not a damaged label.
		for _, d := range r.damage {
			if errors.Is(d.Err, dev.ErrIO) {
				return nil, fmt.Errorf("%s: no valid record in the readable area, and area %d cannot be read: %w", path, d.Area, d.Err)
			}
		}
		return nil, fmt.Errorf("%s: %w: no valid record in either area; damaged slots: %v", path, ErrDamaged, r.damage)
	}
	return nil, fmt.Errorf("%s: %w: both superblock areas are empty", path, ErrNoLabel)
}
