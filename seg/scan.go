package seg

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/google/uuid"

	"github.com/plinth-storage/plinth/io/dev"
)

// Expect is what a scanner requires of a segment's header, so that data
// from another node, drive, segment or use is never read as current. Zero
// fields are not checked.
type Expect struct {
	Node       uuid.UUID
	Drive      uuid.UUID
	Kind       Kind
	Generation uint64
}

// Tail describes where a scan ended.
type Tail struct {
	// End is the segment offset where the next write goes (block aligned).
	End int64
	// ValidEnd is where the last valid record ended. It equals End unless
	// the tail was torn.
	ValidEnd int64
	// Torn is true when the last write did not complete: bytes after
	// ValidEnd are damaged and were never acknowledged.
	Torn bool
	// NextSeq is the sequence number the next record takes.
	NextSeq uint64
	// Sealed segments end with a footer.
	Sealed bool
	Footer Footer
	// Skipped lists torn regions inside the segment that a recovery
	// stepped over (each was the tail once).
	Skipped []int64
}

// Scanner iterates the records of one segment, verifying each.
type Scanner struct {
	loc   Location
	hdr   Header
	salt  Salt
	bs    int64
	bound int64 // the scan never reads at or past this segment offset
	// extent is where a write may end: the bound, except in a sequential
	// zone, where a write that a power failure cut short runs past the
	// write pointer (the bound). The scan takes the bytes past the write
	// pointer for zeros, which they are once a recovery padded the zone.
	extent int64

	win    []byte // cached bytes of the segment
	winOff int64  // segment offset of win[0]

	pos      int64 // next byte to decode
	writeEnd int64 // end of the current write; 0 between writes
	inWrite  int   // records left in the current write
	resumed  int64 // >= 0: the torn offset the next write must name
	reread   int64 // the last offset damage read again (see damage)
	nextSeq  uint64
	sum      summary
	tail     Tail
	done     bool
	err      error
}

const scanChunk = 1 << 20

// Scan opens the segment at loc for reading. It fails with ErrNotWritten
// when the segment holds no header and ErrStale when the header belongs to
// another use than expect describes.
func Scan(loc Location, expect Expect) (*Scanner, error) {
	bs := blockSize(loc.Dev.Geometry())
	s := &Scanner{loc: loc, bs: bs}
	bound := loc.Capacity / bs * bs
	if loc.Sequential {
		wp, _, err := loc.writePointer()
		if err != nil {
			return nil, fmt.Errorf("scan %s: %w", loc, err)
		}
		if wp == 0 {
			return nil, fmt.Errorf("scan %s: %w: the zone is empty", loc, ErrNotWritten)
		}
		bound = min(bound, dev.RoundUp(wp, int64(loc.Dev.Geometry().LogicalBlockSize)))
	}
	s.bound = bound
	// The header alone: a caller that only wants the header (the journal
	// reads every ring segment's at open) should not pay for a chunk.
	b := dev.AlignedBuffer(int(bs))
	_, err := loc.Dev.ReadAt(b, loc.Start)
	if err != nil {
		return nil, fmt.Errorf("scan %s: read header: %w", loc, err)
	}
	hdr, err := decodeHeader(b)
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", loc, err)
	}
	if err := expect.check(hdr, loc); err != nil {
		return nil, fmt.Errorf("scan %s: %w", loc, err)
	}
	if int64(hdr.BlockSize) != bs || hdr.Capacity > loc.Capacity {
		return nil, fmt.Errorf("scan %s: %w: header says %d-byte blocks and %d bytes, the segment has %d and %d",
			loc, ErrCorrupt, hdr.BlockSize, hdr.Capacity, bs, loc.Capacity)
	}
	if !loc.Sequential {
		s.bound = hdr.Capacity - bs // the last block holds the footer copy
	}
	s.extent = s.bound
	if loc.Sequential {
		s.extent = hdr.Capacity
	}
	s.hdr, s.salt, s.pos, s.nextSeq, s.resumed = hdr, hdr.salt(), bs, hdr.FirstSeq, -1
	return s, nil
}

func (e Expect) check(h Header, loc Location) error {
	switch {
	case h.Index != loc.Index:
		return fmt.Errorf("%w: header of segment %d", ErrStale, h.Index)
	case e.Node != uuid.Nil && h.Node != e.Node:
		return fmt.Errorf("%w: header of node %s, want %s", ErrStale, h.Node, e.Node)
	case e.Drive != uuid.Nil && h.Drive != e.Drive:
		return fmt.Errorf("%w: header of drive %s, want %s", ErrStale, h.Drive, e.Drive)
	case e.Kind != 0 && h.Kind != e.Kind:
		return fmt.Errorf("%w: a %s segment, want %s", ErrStale, h.Kind, e.Kind)
	case e.Generation != 0 && h.Generation != e.Generation:
		return fmt.Errorf("%w: generation %d, want %d", ErrStale, h.Generation, e.Generation)
	}
	return nil
}

// Header returns the segment's header.
func (s *Scanner) Header() Header { return s.hdr }

// Tail describes where the scan ended; valid once Next returned io.EOF.
func (s *Scanner) Tail() Tail { return s.tail }

// Next returns the next user record. It returns io.EOF at the end of the
// segment's valid data (a clean end, a torn tail or the footer: see Tail),
// and an error wrapping ErrCorrupt, naming the segment and offset, when a
// record before the tail is damaged.
func (s *Scanner) Next() (Record, error) {
	for !s.done {
		rec, err := s.step()
		if err != nil {
			s.done, s.err = true, err
			break
		}
		if rec != nil {
			return *rec, nil
		}
	}
	if s.err != nil {
		return Record{}, s.err
	}
	return Record{}, io.EOF
}

// step decodes one record; it returns a user record, or nil after an
// internal record or when the scan ended (s.done).
func (s *Scanner) step() (*Record, error) {
	if s.writeEnd == 0 { // between writes: a write record must start here
		if s.pos+s.bs > s.bound {
			return nil, s.end(s.pos, false)
		}
		rec, size, err := s.decodeAt(s.pos, s.bound)
		if err != nil && !dataError(err) {
			return nil, fmt.Errorf("scan %s at %d: %w", s.loc, s.pos, err)
		}
		if err != nil || rec.Type != typeWrite {
			return nil, s.damage(s.pos)
		}
		wlen, count, prevEnd, ok := decodeWrite(rec.Payload)
		want := s.pos
		if s.resumed >= 0 {
			want = s.resumed // the write a recovery appended after a torn tail
		}
		// A write holds at least its own record (a length of 0 would
		// send the scan back to this record forever) and at most
		// MaxWrite (the tail, and the padding a recovery writes to
		// reach it, follow from its length).
		if !ok || prevEnd != want || wlen < s.bs || wlen > MaxWrite || wlen%s.bs != 0 || s.pos+wlen > s.extent {
			return nil, s.damage(s.pos)
		}
		s.resumed = -1
		s.writeEnd, s.inWrite = s.pos+wlen, count
		s.pos += int64(size)
		return nil, nil
	}
	if s.inWrite == 0 {
		// Past the write's last record only padding remains.
		s.pos, s.writeEnd = s.writeEnd, 0
		return nil, nil
	}
	rec, size, err := s.decodeAt(s.pos, s.writeEnd)
	if err != nil && !dataError(err) {
		return nil, fmt.Errorf("scan %s at %d: %w", s.loc, s.pos, err)
	}
	if err != nil || s.pos+int64(size) > s.writeEnd ||
		rec.Type != typeFooter && (rec.Type < TypeUser || rec.Seq != s.nextSeq) {
		return nil, s.damage(s.pos)
	}
	rec.Offset = s.pos
	s.pos += int64(size)
	s.inWrite--
	if rec.Type == typeFooter {
		return nil, s.footer(rec)
	}
	s.sum.add(rec.Seq, s.win[rec.Offset-s.winOff+24:rec.Offset-s.winOff+32])
	s.nextSeq++
	return &rec, nil
}

func decodeWrite(p []byte) (wlen int64, count int, prevEnd int64, ok bool) {
	if len(p) != writePayloadSize {
		return 0, 0, 0, false
	}
	return int64(binary.LittleEndian.Uint32(p[0:])), int(binary.LittleEndian.Uint32(p[4:])),
		int64(binary.LittleEndian.Uint64(p[8:])), true
}

// footer checks the footer against what the scan saw and ends the scan.
func (s *Scanner) footer(rec Record) error {
	f, err := decodeFooter(rec.Payload)
	if err != nil {
		return fmt.Errorf("scan %s at %d: %w", s.loc, rec.Offset, err)
	}
	want := Footer{Records: s.sum.records, FirstSeq: s.sum.firstSeq, LastSeq: s.sum.lastSeq, DataEnd: f.DataEnd, Chain: s.sum.chain}
	if f != want || f.DataEnd != rec.Offset-int64(recordSize(writePayloadSize)) {
		return fmt.Errorf("scan %s at %d: %w: footer %+v does not match the records scanned %+v", s.loc, rec.Offset, ErrCorrupt, f, want)
	}
	s.done = true
	s.tail = Tail{End: s.writeEnd, ValidEnd: s.writeEnd, NextSeq: s.nextSeq, Sealed: true, Footer: f, Skipped: s.tail.Skipped}
	return nil
}

// damage handles bytes at p that are not what must be there. Either the
// segment's valid data ends at p (a clean end, or a torn last write), or a
// later write proves the log went on and p is corruption — unless that
// write says a recovery stepped over exactly this damage.
func (s *Scanner) damage(p int64) error {
	if s.reread != p {
		// Bytes can be damaged on their way from the media (a cable,
		// a controller, host memory): before taking p for the tail or
		// for corruption, and before looking for the writes after it,
		// read them again. The step is retried from p.
		s.reread = p
		s.win, s.winOff = s.win[:0], 0
		return nil
	}
	window := min(s.bound, dev.RoundUp(p, s.bs)+MaxWrite+s.bs)
	for q := dev.RoundUp(p+1, s.bs); q+s.bs <= window; q += s.bs {
		rec, _, err := s.decodeAt(q, s.bound)
		if err != nil || rec.Type != typeWrite {
			continue
		}
		_, _, prevEnd, ok := decodeWrite(rec.Payload)
		if !ok {
			continue
		}
		if prevEnd == p {
			// A recovery resumed after a torn tail at p.
			s.tail.Skipped = append(s.tail.Skipped, p)
			s.pos, s.writeEnd, s.inWrite, s.resumed = q, 0, 0, p
			return nil
		}
		return fmt.Errorf("scan %s: %w at offset %d (byte %d of %s): a later write at offset %d proves the data was complete",
			s.loc, ErrCorrupt, p, s.loc.Start+p, s.loc.Dev.Path(), q)
	}
	torn := s.writeEnd != 0 || !s.cleanEnd(p)
	return s.end(p, torn)
}

// cleanEnd reports whether the bytes at the write boundary p are what
// follows the end of a segment's data: unwritten (zeros) or left over from
// an earlier use of the segment.
func (s *Scanner) cleanEnd(p int64) bool {
	if p+s.bs > s.bound {
		return true
	}
	b, err := s.read(p, int(s.bs))
	if err != nil {
		return false
	}
	return allZero(b) || staleRecord(b, s.hdr.Drive, s.hdr.Index, s.hdr.Generation)
}

func (s *Scanner) end(validEnd int64, torn bool) error {
	s.done = true
	end := dev.RoundUp(validEnd, s.bs)
	if torn && s.writeEnd != 0 {
		end = max(end, s.writeEnd)
	}
	s.tail = Tail{End: min(end, s.extent), ValidEnd: validEnd, Torn: torn, NextSeq: s.nextSeq, Skipped: s.tail.Skipped}
	return nil
}

// decodeAt decodes the record at segment offset off, reading no further
// than limit.
func (s *Scanner) decodeAt(off, limit int64) (Record, int, error) {
	if off+RecordHeaderSize > limit {
		return Record{}, 0, errNoRecord
	}
	h, err := s.read(off, RecordHeaderSize)
	if err != nil {
		return Record{}, 0, err
	}
	n := int64(binary.LittleEndian.Uint32(h[8:]))
	if string(h[:4]) != RecordMagic || n > MaxPayload || off+RecordHeaderSize+n > limit {
		return decodeRecord(h, &s.salt, s.hdr.Generation) // reports why
	}
	b, err := s.read(off, int(RecordHeaderSize+n))
	if err != nil {
		return Record{}, 0, err
	}
	return decodeRecord(b, &s.salt, s.hdr.Generation)
}

// read returns n bytes at segment offset off from the window, reading the
// device in aligned chunks as needed.
func (s *Scanner) read(off int64, n int) ([]byte, error) {
	if off >= s.winOff && off+int64(n) <= s.winOff+int64(len(s.win)) {
		return s.win[off-s.winOff : off-s.winOff+int64(n)], nil
	}
	lbs := int64(s.loc.Dev.Geometry().LogicalBlockSize)
	start := off / s.bs * s.bs
	end := dev.RoundUp(max(off+int64(n), start+scanChunk), lbs)
	end = min(end, s.loc.Capacity/lbs*lbs)
	if off+int64(n) > end {
		return nil, fmt.Errorf("%s: read [%d, +%d) past the readable end %d: %w", s.loc, off, n, end, io.ErrUnexpectedEOF)
	}
	// Nothing is read past a zone's write pointer (drives may fail such
	// reads); those bytes are zeros to the scan (see extent).
	devEnd := end
	if s.bound > 0 && s.loc.Sequential {
		devEnd = max(start, min(end, s.bound))
	}
	if cap(s.win) < int(end-start) {
		s.win = dev.AlignedBuffer(int(dev.RoundUp(end-start, scanChunk)))
	}
	s.win = s.win[:end-start]
	if devEnd > start {
		if _, err := s.loc.Dev.ReadAt(s.win[:devEnd-start], s.loc.Start+start); err != nil {
			s.win, s.winOff = s.win[:0], 0
			return nil, err
		}
	}
	clear(s.win[devEnd-start:])
	s.winOff = start
	return s.win[off-start : off-start+int64(n)], nil
}

// dataError reports whether err is about the bytes (damage, padding, an
// unknown format) rather than a failure to read them.
func dataError(err error) bool {
	return errors.Is(err, ErrCorrupt) || errors.Is(err, errNoRecord) || errors.Is(err, ErrUnsupported)
}
