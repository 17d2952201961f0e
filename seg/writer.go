package seg

import (
	"encoding/binary"
	"fmt"

	"github.com/minio/highwayhash"

	"github.com/plinth-storage/plinth/io/dev"
)

// MaxWrite bounds one physical write. A scan that meets damage looks this
// far (plus a block) ahead for the write that recovery appended after it,
// so the constant may grow only together with the scanner's window.
const MaxWrite = 4 << 20

// writeBuffers recycles the MaxWrite-byte pending-write buffers of sealed
// writers. Their contents are never trusted: every byte written is either
// encoded afresh or cleared as padding.
var writeBuffers dev.BufferPool

// writePayloadSize is the payload of the write record that starts every
// physical write: write length, record count, previous valid end.
const writePayloadSize = 16

// Writer appends records to one segment. Records are buffered into one
// pending write; Flush writes it (padded to whole blocks) and flushes the
// device. A segment never has more than one write that is not flushed,
// which is what lets a scan tell a torn tail from corruption. A Writer is
// not safe for concurrent use.
type Writer struct {
	loc  Location
	hdr  Header
	salt Salt
	bs   int64

	buf   []byte // the pending write, MaxWrite bytes, aligned
	n     int    // bytes of buf in use; 0 when no write is pending
	count int    // user records in the pending write

	off     int64 // segment offset of the next write (block aligned): end of written data
	prevEnd int64 // where the previous valid data ended, for the next write record
	padFrom int64 // sequential segments: the write pointer, if below off

	nextSeq uint64
	sum     summary
	sealed  bool
	broken  error
}

// summary accumulates what the footer says about the segment.
type summary struct {
	records  uint64
	firstSeq uint64
	lastSeq  uint64
	chain    uint64 // HighwayHash chain over every record checksum
}

func (s *summary) add(seq uint64, checksum []byte) {
	if s.records == 0 {
		s.firstSeq = seq
	}
	s.records++
	s.lastSeq = seq
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:], s.chain)
	copy(b[8:], checksum)
	s.chain = highwayhash.Sum64(b[:], ChecksumKey)
}

// Create starts a new use of the segment at loc: it resets the zone (a
// sequential segment) and writes the header, durably. hdr.BlockSize,
// hdr.Capacity and hdr.Index are filled in from loc.
func Create(loc Location, hdr Header) (*Writer, error) {
	hdr.BlockSize = uint32(blockSize(loc.Dev.Geometry()))
	hdr.Capacity = loc.Capacity / int64(hdr.BlockSize) * int64(hdr.BlockSize)
	hdr.Index = loc.Index
	if hdr.Capacity < 4*int64(hdr.BlockSize) {
		return nil, fmt.Errorf("create %s: capacity %d is too small", loc, loc.Capacity)
	}
	if loc.Sequential {
		z, ok := dev.AsZoned(loc.Dev)
		if !ok {
			return nil, fmt.Errorf("create %s: sequential segment on a device that is not zoned", loc)
		}
		if err := z.ResetZone(loc.Start); err != nil {
			return nil, fmt.Errorf("create %s: %w", loc, err)
		}
	}
	w := newWriter(loc, hdr)
	block := w.buf[:w.bs]
	hdr.encode(block)
	if _, err := loc.Dev.WriteAt(block, loc.Start); err != nil {
		return nil, fmt.Errorf("create %s: write header: %w", loc, err)
	}
	// The header is durable before any record is written: a use whose
	// header did not survive a crash left no records behind either, so
	// generations read back from headers can be trusted to be the newest.
	if err := loc.Dev.Flush(); err != nil {
		return nil, fmt.Errorf("create %s: flush header: %w", loc, err)
	}
	clear(block)
	w.off, w.prevEnd = w.bs, w.bs
	return w, nil
}

func newWriter(loc Location, hdr Header) *Writer {
	return &Writer{
		loc:     loc,
		hdr:     hdr,
		salt:    hdr.salt(),
		bs:      int64(hdr.BlockSize),
		buf:     writeBuffers.Get(MaxWrite),
		nextSeq: hdr.FirstSeq,
	}
}

// Resume continues appending to a segment after a scan found its tail.
// After a torn tail, the next write records where valid data ended so a
// later scan steps over the damaged bytes.
func Resume(loc Location, s *Scanner) (*Writer, error) {
	// Without a tail the writer would start at offset 0, over the header.
	switch {
	case s.err != nil:
		return nil, fmt.Errorf("resume %s: the scan ended before the tail: %w", loc, s.err)
	case !s.done:
		return nil, fmt.Errorf("resume %s: the scan has not reached the tail (read until Next returns io.EOF)", loc)
	}
	t := s.Tail()
	if t.Sealed {
		return nil, fmt.Errorf("resume %s: %w", loc, ErrSealed)
	}
	w := newWriter(loc, s.Header())
	w.off, w.prevEnd, w.nextSeq, w.sum = t.End, t.ValidEnd, t.NextSeq, s.sum
	if loc.Sequential {
		wp, full, err := loc.writePointer()
		if err != nil {
			return nil, fmt.Errorf("resume %s: %w", loc, err)
		}
		if full {
			return nil, fmt.Errorf("resume %s: the zone is full: %w", loc, ErrFull)
		}
		if wp > w.off {
			w.off = dev.RoundUp(wp, w.bs)
		}
		w.padFrom = wp
	}
	return w, nil
}

// Header returns the segment's header.
func (w *Writer) Header() Header { return w.hdr }

// NextSeq is the sequence number the next record will carry.
func (w *Writer) NextSeq() uint64 { return w.nextSeq }

// Written is the segment offset up to which data has been written.
func (w *Writer) Written() int64 { return w.off }

// Pending is the number of bytes waiting for Flush.
func (w *Writer) Pending() int { return w.n }

// Limit is the end of the space records may use: one block stays free for
// the footer, and on a conventional segment the last block holds the
// footer's copy.
func (w *Writer) Limit() int64 {
	l := w.hdr.Capacity - w.bs
	if !w.loc.Sequential {
		l -= w.bs
	}
	return l
}

// Fits reports whether a record of n payload bytes fits the pending write
// and the segment.
func (w *Writer) Fits(n int) error {
	size := recordSize(n)
	switch {
	case n > MaxPayload || size+recordSize(writePayloadSize) > MaxWrite:
		return fmt.Errorf("record of %d bytes: larger than the %d-byte maximum", n, min(MaxPayload, MaxWrite-2*RecordHeaderSize))
	case w.off+w.WriteWith(n) > w.Limit():
		return ErrFull
	case w.pendingWith(n) > MaxWrite:
		return ErrBatchFull
	}
	return nil
}

// pendingWith is the size of the pending write, write record included,
// once a record of n payload bytes joins it.
func (w *Writer) pendingWith(n int) int {
	used := w.n
	if used == 0 {
		used = recordSize(writePayloadSize)
	}
	return used + recordSize(n)
}

// WriteWith is the space on the segment (whole blocks) the pending write
// takes once a record of n payload bytes joins it.
func (w *Writer) WriteWith(n int) int64 {
	return dev.RoundUp(int64(w.pendingWith(n)), w.bs)
}

// PayloadOffset is the segment offset at which the payload of the next
// record appended to the pending write will lie, so that a caller can
// address the records it appends (the B-tree store points at nodes by
// segment offset). Call it after Fits says the record fits the pending
// write: a record that does not fit goes to the next write instead.
func (w *Writer) PayloadOffset() int64 {
	used := w.n
	if used == 0 {
		used = recordSize(writePayloadSize)
	}
	return w.off + int64(used) + RecordHeaderSize
}

// Append adds a record of type typ (TypeUser or above) to the pending
// write and returns its sequence number. It is durable after Flush.
func (w *Writer) Append(typ uint8, flags uint16, payload []byte) (uint64, error) {
	switch {
	case w.broken != nil:
		return 0, fmt.Errorf("append to %s: %w: %v", w.loc, ErrBroken, w.broken)
	case w.sealed:
		return 0, fmt.Errorf("append to %s: %w", w.loc, ErrSealed)
	case typ < TypeUser:
		return 0, fmt.Errorf("append to %s: record type %d is reserved", w.loc, typ)
	}
	if err := w.Fits(len(payload)); err != nil {
		return 0, fmt.Errorf("append to %s: %w", w.loc, err)
	}
	if w.n == 0 {
		w.n = recordSize(writePayloadSize) // the write record, filled in by Flush
	}
	seq := w.nextSeq
	size := encodeRecord(w.buf[w.n:], &w.salt, typ, flags, w.hdr.Generation, seq, payload)
	w.sum.add(seq, w.buf[w.n+24:w.n+32])
	w.n += size
	w.count++
	w.nextSeq++
	return seq, nil
}

// Flush writes the pending records and flushes the device. When it returns
// nil every appended record is durable.
func (w *Writer) Flush() error {
	if w.broken != nil {
		return fmt.Errorf("flush %s: %w: %v", w.loc, ErrBroken, w.broken)
	}
	if w.n == 0 {
		return nil
	}
	if err := w.writePending(); err != nil {
		return err
	}
	if err := w.loc.Dev.Flush(); err != nil {
		w.broken = err
		return fmt.Errorf("flush %s: %w", w.loc, err)
	}
	return nil
}

// writePending writes the pending write (without a device flush).
func (w *Writer) writePending() error {
	padded := int(dev.RoundUp(int64(w.n), w.bs))
	clear(w.buf[w.n:padded])
	var p [writePayloadSize]byte
	binary.LittleEndian.PutUint32(p[0:], uint32(padded))
	binary.LittleEndian.PutUint32(p[4:], uint32(w.count))
	binary.LittleEndian.PutUint64(p[8:], uint64(w.prevEnd))
	encodeRecord(w.buf, &w.salt, typeWrite, 0, w.hdr.Generation, 0, p[:])
	if w.padFrom != 0 && w.padFrom < w.off {
		// A torn write left the write pointer between blocks.
		pad := dev.AlignedBuffer(int(w.off - w.padFrom))
		if _, err := w.loc.Dev.WriteAt(pad, w.loc.Start+w.padFrom); err != nil {
			w.broken = err
			return fmt.Errorf("write %s at %d: pad to a block: %w", w.loc, w.padFrom, err)
		}
	}
	w.padFrom = 0
	if _, err := w.loc.Dev.WriteAt(w.buf[:padded], w.loc.Start+w.off); err != nil {
		w.broken = err
		return fmt.Errorf("write %s at %d: %w", w.loc, w.off, err)
	}
	w.off += int64(padded)
	w.prevEnd = w.off
	w.n, w.count = 0, 0
	return nil
}

// Footer summarises a sealed segment.
type Footer struct {
	Records  uint64
	FirstSeq uint64 // meaningful when Records > 0
	LastSeq  uint64
	// DataEnd is the segment offset of the footer's write: where the
	// records end.
	DataEnd int64
	// Chain is a HighwayHash chain over every record's checksum, so a
	// verifying scan can compare one number.
	Chain uint64
}

const footerPayloadSize = 40

func (f Footer) encode() []byte {
	b := make([]byte, footerPayloadSize)
	le := binary.LittleEndian
	le.PutUint64(b[0:], f.Records)
	le.PutUint64(b[8:], f.FirstSeq)
	le.PutUint64(b[16:], f.LastSeq)
	le.PutUint64(b[24:], uint64(f.DataEnd))
	le.PutUint64(b[32:], f.Chain)
	return b
}

func decodeFooter(b []byte) (Footer, error) {
	if len(b) != footerPayloadSize {
		return Footer{}, fmt.Errorf("%w: footer of %d bytes", ErrCorrupt, len(b))
	}
	le := binary.LittleEndian
	return Footer{
		Records:  le.Uint64(b[0:]),
		FirstSeq: le.Uint64(b[8:]),
		LastSeq:  le.Uint64(b[16:]),
		DataEnd:  int64(le.Uint64(b[24:])),
		Chain:    le.Uint64(b[32:]),
	}, nil
}

// Seal flushes what is pending, writes the footer (and, on a conventional
// segment, its copy in the last block) and flushes; a sequential zone is
// then finished, releasing its open and active resources.
func (w *Writer) Seal() (Footer, error) {
	if w.sealed {
		return Footer{}, fmt.Errorf("seal %s: %w", w.loc, ErrSealed)
	}
	if err := w.Flush(); err != nil {
		return Footer{}, err
	}
	f := Footer{Records: w.sum.records, FirstSeq: w.sum.firstSeq, LastSeq: w.sum.lastSeq, DataEnd: w.off, Chain: w.sum.chain}
	w.n = recordSize(writePayloadSize)
	w.n += encodeRecord(w.buf[w.n:], &w.salt, typeFooter, 0, w.hdr.Generation, 0, f.encode())
	w.count = 1
	if err := w.writePending(); err != nil {
		return Footer{}, err
	}
	if !w.loc.Sequential {
		// The copy sits where a reader finds it without scanning. The
		// footer write is made durable first: a power cut must never
		// leave the copy without it, or ReadFooter would find a footer
		// for a segment that a scan reads as unsealed and that goes on.
		if err := w.loc.Dev.Flush(); err != nil {
			w.broken = err
			return Footer{}, fmt.Errorf("seal %s: %w", w.loc, err)
		}
		if _, err := w.loc.Dev.WriteAt(w.buf[:w.bs], w.loc.Start+w.hdr.Capacity-w.bs); err != nil {
			w.broken = err
			return Footer{}, fmt.Errorf("seal %s: write footer copy: %w", w.loc, err)
		}
	}
	if err := w.loc.Dev.Flush(); err != nil {
		w.broken = err
		return Footer{}, fmt.Errorf("seal %s: %w", w.loc, err)
	}
	w.sealed = true
	// A sealed writer writes nothing more: its buffer serves the next one.
	writeBuffers.Put(w.buf)
	w.buf = nil
	if w.loc.Sequential {
		z, _ := dev.AsZoned(w.loc.Dev)
		if err := z.FinishZone(w.loc.Start); err != nil {
			return f, fmt.Errorf("seal %s: footer durable, but finishing the zone: %w", w.loc, err)
		}
	}
	return f, nil
}
