package superblock

import (
	"fmt"
)

// Rewrite rewrites the drive's label areas from the current label (the
// newest valid record): for fsck's repair of damaged records. The label
// goes, with the next sequence number, to the start of the area that is
// not active (erased first), then the formerly active area is erased, so
// each area ends up holding nothing but that one record, and no damaged
// slot is left in either.
//
// It never destroys the newest durable label: the area holding it is
// erased only once the new record is durable in the other, exactly as an
// Update that switches areas. On sequential zones the full-area rule of
// Update holds too (the active zone is finished before the other is
// reset). A crash at any point leaves the old or the new record, both
// describing the same label.
//
// Afterwards both areas are read again: an error is returned when they
// still hold a damaged slot or the newest record is not the one written.
func (lg *Log) Rewrite() error {
	lg.mu.Lock()
	defer lg.mu.Unlock()
	old, other := lg.active, 1-lg.active
	seq := lg.seq + 1
	if lg.areas[old].sequential {
		if err := lg.z.FinishZone(lg.areas[old].off); err != nil {
			return fmt.Errorf("rewrite label %s: finish area %d: %w", lg.d.Path(), old, err)
		}
	}
	if err := lg.erase(other); err != nil {
		return fmt.Errorf("rewrite label %s: %w", lg.d.Path(), err)
	}
	if err := lg.writeRecord(other, 0, seq, lg.label); err != nil {
		return fmt.Errorf("rewrite label %s: %w", lg.d.Path(), err)
	}
	lg.seq, lg.active, lg.next = seq, other, lg.slot
	// The new record is durable: the old area may go.
	if err := lg.erase(old); err != nil {
		return fmt.Errorf("rewrite label %s: the label was rewritten into area %d, but area %d could not be erased: %w", lg.d.Path(), other, old, err)
	}
	r, _, err := lg.scan()
	if err != nil {
		return fmt.Errorf("rewrite label %s: read it back: %w", lg.d.Path(), err)
	}
	lg.damage = r.damage
	best, err := r.result(lg.d.Path())
	switch {
	case err != nil:
		return fmt.Errorf("rewrite label %s: read it back: %w", lg.d.Path(), err)
	case best.seq != seq || best.label != lg.label || best.area != other:
		return fmt.Errorf("rewrite label %s: read back sequence %d in area %d, wrote %d in area %d", lg.d.Path(), best.seq, best.area, seq, other)
	case len(r.damage) > 0:
		return fmt.Errorf("rewrite label %s: damaged slots remain after the rewrite: %v", lg.d.Path(), r.damage)
	}
	return nil
}
