package seg

import (
	"errors"
	"fmt"

	"github.com/plinth-storage/plinth/io/dev"
)

// ErrNoFooter: the segment is not sealed, or its footer cannot be found
// without a scan.
var ErrNoFooter = errors.New("no footer")

// ReadFooter reads a sealed segment's footer without scanning its records.
// at is the footer's offset when the caller knows it (the segment table
// records it), or -1: a conventional segment then reads the footer's copy
// in its last block, a sequential one the block before its write pointer
// when the zone is not full. A full zone needs at, or a scan.
func ReadFooter(loc Location, expect Expect, at int64) (Footer, error) {
	s, err := Scan(loc, expect)
	if err != nil {
		return Footer{}, err
	}
	copied := at < 0 && !loc.Sequential // reading the copy in the last block
	if at < 0 {
		switch {
		case !loc.Sequential:
			at = s.hdr.Capacity - s.bs
		default:
			wp, full, err := loc.writePointer()
			if err != nil {
				return Footer{}, err
			}
			if full {
				return Footer{}, fmt.Errorf("footer of %s: %w: the zone is full; give the footer offset or scan", loc, ErrNoFooter)
			}
			at = dev.RoundUp(wp, s.bs) - s.bs
		}
	}
	if at < s.bs || at%s.bs != 0 || at+s.bs > s.hdr.Capacity {
		return Footer{}, fmt.Errorf("footer of %s: %w: offset %d is not a block of the segment", loc, ErrNoFooter, at)
	}
	w, size, err := s.decodeAt(at, at+s.bs)
	if err == nil && w.Type != typeWrite {
		err = fmt.Errorf("%w: no write record", ErrCorrupt)
	}
	if err != nil {
		return Footer{}, fmt.Errorf("footer of %s at %d: %w: %w", loc, at, ErrNoFooter, err)
	}
	_, _, prevEnd, _ := decodeWrite(w.Payload)
	rec, _, err := s.decodeAt(at+int64(size), at+s.bs)
	if err == nil && rec.Type != typeFooter {
		err = fmt.Errorf("%w: no footer record", ErrCorrupt)
	}
	if err != nil {
		return Footer{}, fmt.Errorf("footer of %s at %d: %w: %w", loc, at, ErrNoFooter, err)
	}
	f, err := decodeFooter(rec.Payload)
	if err != nil {
		return Footer{}, fmt.Errorf("footer of %s at %d: %w", loc, at, err)
	}
	// The footer's write starts where the records end. It names that
	// offset as the previous valid end or, when the segment was sealed
	// right after a recovery from a torn tail, the torn offset before it.
	if copied && (f.DataEnd < s.bs || f.DataEnd%s.bs != 0 || f.DataEnd >= at) || !copied && f.DataEnd != at || prevEnd > f.DataEnd {
		return Footer{}, fmt.Errorf("footer of %s at %d: %w: footer says data ends at %d, its write names %d as the previous end", loc, at, ErrCorrupt, f.DataEnd, prevEnd)
	}
	return f, nil
}
