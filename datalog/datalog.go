package datalog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/google/uuid"

	"github.com/plinth-storage/plinth/internal/keyhash"
	"github.com/plinth-storage/plinth/io/dev"
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
	// ErrBroken: an earlier write or flush failed; the Writer is unusable.
	ErrBroken = errors.New("data log writer broken by an earlier error")
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

// Writer appends to the stream of a set, one full stripe at a time.
// It is not safe for concurrent use.
//
// It has two stripe buffers: while the units of one stripe are being
// written, the next one fills and is encoded, so the CPU of tagging and
// coding overlaps the drives' work. An error of a stripe's writes is
// returned by the next write of a stripe or by Flush (nothing is durable
// before Flush anyway), and breaks the Writer.
type Writer struct {
	g     *geometry
	codec *stripe.Codec
	bufs  [2][]byte   // two stripes: N+K units each
	sets  [2][][]byte // views of bufs
	cur   int         // the buffer being filled
	units [][]byte    // sets[cur]
	end   int64       // stream offset of the next byte appended

	inflight sync.WaitGroup // the previous stripe's writes
	werrs    []error        // their errors, one per member
	err      error
}

// Create starts a new use of every member segment of set (seg.Create with a
// data header naming the set and the member's generation) and returns a
// Writer positioned at stream offset 0.
func Create(set Set) (*Writer, error) {
	g, err := newGeometry(set, true)
	if err != nil {
		return nil, err
	}
	codec, err := stripe.New(set.Layout)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSet, err)
	}
	for i, m := range set.Members {
		_, err := seg.Create(m.Loc, seg.Header{
			Node: m.Node, Drive: m.Drive, Kind: seg.KindData,
			Generation: m.Generation, Set: set.ID,
		})
		if err != nil {
			return nil, fmt.Errorf("data log set %d: member %d: %w", set.ID, i, err)
		}
	}
	w := &Writer{g: g, codec: codec, werrs: make([]error, set.Layout.Members())}
	for b := range w.bufs {
		w.bufs[b] = dev.AlignedBuffer(set.Layout.Members() * set.Layout.Unit)
		w.sets[b] = make([][]byte, set.Layout.Members())
		for i := range w.sets[b] {
			w.sets[b][i] = w.bufs[b][i*set.Layout.Unit : (i+1)*set.Layout.Unit : (i+1)*set.Layout.Unit]
		}
	}
	w.units = w.sets[0]
	return w, nil
}

// End returns the stream offset the next Append writes at.
func (w *Writer) End() int64 { return w.end }

// Capacity returns the number of stream bytes the set holds.
func (w *Writer) Capacity() int64 { return w.g.stripes * w.g.stripeBytes }

// Append adds p to the stream and returns the stream offset of its first
// byte. Complete stripes are written as they fill (in the background: a
// failed write is reported by a later Append or by Flush); the rest waits
// for a later Append or Flush. An append that does not fit the set fails
// with ErrFull and appends nothing.
func (w *Writer) Append(p []byte) (int64, error) {
	if w.err != nil {
		return 0, w.err
	}
	start := w.end
	if int64(len(p)) > w.Capacity()-w.end {
		return 0, fmt.Errorf("data log set %d: append of %d bytes at %d: %w", w.g.set.ID, len(p), w.end, ErrFull)
	}
	for len(p) > 0 {
		in := w.end % w.g.stripeBytes
		b := in / BlockPayload
		o := in % BlockPayload
		d, j := int(b)/w.g.bpu, int(b)%w.g.bpu
		dst := w.units[d][j*BlockSize+int(o) : j*BlockSize+BlockPayload]
		c := copy(dst, p)
		p = p[c:]
		w.end += int64(c)
		if w.end%w.g.stripeBytes == 0 {
			if err := w.writeStripe((w.end - 1) / w.g.stripeBytes); err != nil {
				return 0, err
			}
		}
	}
	return start, nil
}

// Flush pads a partial stripe with zeros, writes it and flushes every
// member device. It returns the stream end: the next Append starts there
// (at a stripe boundary). When it returns nil, every byte appended is
// durable.
func (w *Writer) Flush() (int64, error) {
	if w.err != nil {
		return w.end, w.err
	}
	if w.end%w.g.stripeBytes != 0 {
		s := w.end / w.g.stripeBytes
		// The buffer's unused payload bytes are zero (cleared after each
		// stripe), so the padding is already in place.
		w.end = (s + 1) * w.g.stripeBytes
		if err := w.writeStripe(s); err != nil {
			return w.end, err
		}
	}
	if err := w.wait(); err != nil {
		return w.end, err
	}
	errs := make([]error, len(w.g.set.Members))
	var wg sync.WaitGroup
	for i, m := range w.g.set.Members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := m.Loc.Dev.Flush(); err != nil {
				errs[i] = fmt.Errorf("member %d (%s): flush: %w", i, m.Loc, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		w.err = fmt.Errorf("data log set %d: %w: %w", w.g.set.ID, ErrBroken, err)
		return w.end, w.err
	}
	return w.end, nil
}

// writeStripe tags, encodes and writes the buffered stripe s, then clears
// the buffer.
func (w *Writer) writeStripe(s int64) error {
	g := w.g
	for d := 0; d < g.n; d++ {
		gen := g.set.Members[d].Generation
		for j := 0; j < g.bpu; j++ {
			sealBlock(w.units[d][j*BlockSize:(j+1)*BlockSize], g.set.ID, gen, g.streamBlock(s, d, j))
		}
	}
	if err := w.codec.Encode(w.units); err != nil {
		w.err = fmt.Errorf("data log set %d: stripe %d: encode: %w", g.set.ID, s, err)
		return w.err
	}
	if err := w.wait(); err != nil {
		return err
	}
	units := w.units
	for i, m := range g.set.Members {
		w.inflight.Add(1)
		go func() {
			defer w.inflight.Done()
			if _, err := m.Loc.Dev.WriteAt(units[i], g.unitOffset(i, s)); err != nil {
				w.werrs[i] = fmt.Errorf("member %d (%s): write stripe %d: %w", i, m.Loc, s, err)
			}
		}()
	}
	// Fill the other buffer meanwhile: its writes finished in wait above.
	w.cur = 1 - w.cur
	w.units = w.sets[w.cur]
	clear(w.bufs[w.cur])
	return nil
}

// wait waits for the previous stripe's writes and breaks the Writer if any
// failed.
func (w *Writer) wait() error {
	w.inflight.Wait()
	if err := errors.Join(w.werrs...); err != nil {
		w.err = fmt.Errorf("data log set %d: %w: %w", w.g.set.ID, ErrBroken, err)
		clear(w.werrs)
		return w.err
	}
	return nil
}
