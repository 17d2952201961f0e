package wal

import (
	"errors"
	"fmt"
	"io"

	"github.com/plinth-storage/plinth/seg"
)

// errInspect is why a journal opened by OpenReadOnly refuses commits.
var errInspect = fmt.Errorf("%w: opened read-only for inspection", ErrReadOnly)

// OpenReadOnly opens the journal for inspection (fsck): it finds and
// replays the transactions after checkpoint exactly as Open does, with the
// same events for damaged copies and failed mirrors, but writes nothing:
// mirrors that missed the last write are not brought up to date, the
// newest segment is neither sealed nor finished, no segment is started.
// Commits fail with ErrReadOnly. Tails says where the newest segment ends
// on each mirror.
func OpenReadOnly(opts Options, checkpoint LSN, replay func(lsn LSN, txn []byte) error) (*WAL, error) {
	return open(opts, checkpoint, replay, true)
}

// MirrorTail is where the journal's newest segment ends on one mirror.
type MirrorTail struct {
	Mirror   string
	Position int    // ring position of the newest segment
	Segment  uint32 // its segment index on the drive
	// Tail is the scan's end: a torn tail (Tail.Torn) is a last write
	// that did not complete, which a crash leaves and recovery steps over.
	Tail seg.Tail
	// Err is why the segment could not be scanned to its end on this
	// mirror (it lacks the segment, or a record before the tail is
	// damaged); Tail is then zero.
	Err error
}

// Tails scans the newest segment of the journal's chain on every healthy
// mirror to its end. It reads the media again; none when the journal holds
// no segment.
func (w *WAL) Tails() []MirrorTail {
	w.mu.Lock()
	newest := -1
	for _, i := range chainOrder(w.positions) {
		if w.positions[i].inChain {
			newest = i
		}
	}
	var p position
	if newest >= 0 {
		p = w.positions[newest]
	}
	healthy := append([]bool(nil), w.healthy...)
	w.mu.Unlock()
	if newest < 0 {
		return nil
	}
	var out []MirrorTail
	for m, mir := range w.opts.Mirrors {
		if !healthy[m] {
			continue
		}
		loc := mir.Ring[newest]
		t := MirrorTail{Mirror: mir.Name, Position: newest, Segment: loc.Index}
		t.Tail, t.Err = scanToEnd(loc, w.expect(m, p.gen))
		out = append(out, t)
	}
	return out
}

// scanToEnd reads every record of a segment and returns where it ends.
func scanToEnd(loc seg.Location, expect seg.Expect) (seg.Tail, error) {
	s, err := seg.Scan(loc, expect)
	if err != nil {
		return seg.Tail{}, err
	}
	for {
		_, err := s.Next()
		if errors.Is(err, io.EOF) {
			return s.Tail(), nil
		}
		if err != nil {
			return seg.Tail{}, err
		}
	}
}
