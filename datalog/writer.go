package datalog

import (
	"errors"
	"fmt"
	"sync"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/seg"
	"github.com/plinth-storage/plinth/stripe"
)

// MemberError is the failure of one member's IO: the set, the member,
// where it lies and what was being done. Create's errors for a member that
// could not be started, Resume's and Finish's member failures and LostErr
// are MemberErrors (find one with errors.As).
type MemberError struct {
	Set    uint64
	Member int
	Loc    seg.Location
	Op     string // "create segment", "write stripe 7", "flush", ...
	Err    error
}

func (e *MemberError) Error() string {
	return fmt.Sprintf("data log set %d: member %d (%s): %s: %v", e.Set, e.Member, e.Loc, e.Op, e.Err)
}

func (e *MemberError) Unwrap() error { return e.Err }

// Writer appends to the stream of a set, one full stripe at a time.
// It is not safe for concurrent use.
//
// Stripes are written in batches: a stripe's units lie at the same offset
// of every member and consecutive stripes are contiguous there, so the
// units of up to batchBytes/U stripes go to each member in one write. A
// zoned drive takes one write per zone at a time (the kernel's zone write
// lock), so the size of each write is what sets its throughput. Two batch
// buffers alternate: while one batch is being written, the next fills and
// its stripes are tagged and encoded as they complete, so the CPU of
// tagging and coding overlaps the drives' work. An error of a batch's
// writes is seen by the next batch write or by Flush (nothing is durable
// before Flush anyway).
//
// A member whose write or flush fails is lost: it is written and flushed
// no more, and the Writer goes on with the others, since every stripe is
// still decodable from any N of its units. Only when more than K members
// are lost does the Writer break (ErrBroken). Lost and LostErr say which
// members were lost and why, so that the caller can report the drives and
// seal the set early rather than keep writing stripes with less redundancy.
type Writer struct {
	g     *geometry
	codec *stripe.Codec
	batch int           // stripes per batch
	bufs  [2][]byte     // two batches: member i's units at [i*batch*U, (i+1)*batch*U)
	sets  [2][][][]byte // views of bufs: [batch buffer][slot][member]
	cur   int           // the batch buffer being filled
	slot  int           // the stripe slot of bufs[cur] being filled
	first int64         // the stripe in slot 0 of bufs[cur]
	units [][]byte      // sets[cur][slot]
	end   int64         // stream offset of the next byte appended

	inflight sync.WaitGroup // the previous batch's writes
	werrs    []error        // their errors, one per member

	lost     []error // per member: the error that lost it; nil while it is written
	nlost    int
	dirty    bool   // writes issued since the members were last flushed
	err      error  // the Writer is broken (more than K members lost)
	finished bool   // Finish was called
	zoneDone []bool // Finish finished the member's zone (or it has none)
}

// batchBytes bounds what one write carries to one member: large enough
// that a drive streams (1 MiB is where the raw baseline's throughput
// levels off), small enough that a partial batch at a flush costs little.
const batchBytes = 1 << 20

func newWriter(g *geometry, codec *stripe.Codec) *Writer {
	m := g.set.Layout.Members()
	unit := g.set.Layout.Unit
	batch := max(1, batchBytes/unit)
	if int64(batch) > g.stripes {
		batch = int(max(1, g.stripes))
	}
	w := &Writer{g: g, codec: codec, batch: batch, werrs: make([]error, m), lost: make([]error, m), zoneDone: make([]bool, m)}
	region := batch * unit
	for b := range w.bufs {
		w.bufs[b] = dev.AlignedBuffer(m * region)
		w.sets[b] = make([][][]byte, batch)
		for k := range w.sets[b] {
			w.sets[b][k] = make([][]byte, m)
			for i := range m {
				at := i*region + k*unit
				w.sets[b][k][i] = w.bufs[b][at : at+unit : at+unit]
			}
		}
	}
	w.units = w.sets[0][0]
	return w
}

func (w *Writer) memberErr(i int, op string, err error) *MemberError {
	m := w.g.set.Members[i]
	return &MemberError{Set: w.g.set.ID, Member: i, Loc: m.Loc, Op: op, Err: err}
}

// Create starts a new use of every member segment of set (seg.Create with a
// data header naming the set and the member's generation) and returns a
// Writer positioned at stream offset 0. Every member must have a device
// (ErrSet otherwise), and a member that cannot be created fails Create
// with a *MemberError naming it: the caller picks other drives, since a set
// that starts degraded has no reason to.
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
			return nil, &MemberError{Set: set.ID, Member: i, Loc: m.Loc, Op: "create segment", Err: err}
		}
	}
	return newWriter(g, codec), nil
}

// Resume returns a Writer that continues the current use of set's member
// segments at stream offset end, a multiple of StripeBytes(set.Layout) no
// larger than the set's capacity (ErrSet otherwise). Nothing is created or
// reset: the members keep their headers and the stripes before end.
//
// Members whose device is nil are lost from the start; more than K of them
// fail Resume with ErrBroken. Conventional members are simply written from
// end on, over whatever lies there (stripes past the caller's frontier,
// never acknowledged). A sequential (zoned) member can only be written at
// its write pointer, which after a crash may lie anywhere between the
// member's last stripe and the end of the last stripe any member holds
// (see WrittenEnd): a member that is behind end is brought up to it with
// zero-filled writes (garbage units of stripes no one references); a
// member whose write pointer is past end fails Resume with ErrSet, since
// its zone cannot be written there again: resume at WrittenEnd(set), or
// later. A member whose zone holds nothing at all (a crash in Create
// before its header was written) gets its header as Create writes it,
// the zone having nothing to lose. A zoned member whose zone cannot be
// reported or padded, or is offline or read-only, is lost. At the set's
// capacity nothing more can be written, so no member is padded.
func Resume(set Set, end int64) (*Writer, error) {
	g, err := newGeometry(set, false)
	if err != nil {
		return nil, err
	}
	codec, err := stripe.New(set.Layout)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSet, err)
	}
	if end < 0 || end%g.stripeBytes != 0 || end > g.stripes*g.stripeBytes {
		return nil, fmt.Errorf("%w: data log set %d: resume at %d: not a stripe boundary (%d bytes) in [0, %d]",
			ErrSet, set.ID, end, g.stripeBytes, g.stripes*g.stripeBytes)
	}
	w := newWriter(g, codec)
	w.end = end
	for i, m := range set.Members {
		if m.Loc.Dev == nil {
			w.lose(i, w.memberErr(i, "resume", ErrNoDevice))
		}
	}
	if err := w.checkLost(); err != nil {
		return nil, err
	}
	// Every zone is looked at before any is written, so that a Resume
	// that fails (ErrSet) changes nothing.
	s := end / g.stripeBytes
	n := len(set.Members)
	wps := make([]int64, n)
	lost := make([]error, n)
	bad := make([]error, n)
	padded := make([]bool, n)
	each := func(f func(i int)) {
		var wg sync.WaitGroup
		for i, m := range set.Members {
			if m.Loc.Dev == nil || !m.Loc.Sequential || lost[i] != nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				f(i)
			}()
		}
		wg.Wait()
	}
	each(func(i int) { wps[i], lost[i], bad[i] = w.zoneAt(i, s) })
	if err := errors.Join(bad...); err != nil {
		return nil, err
	}
	if s < g.stripes { // at the set's capacity nothing will be written
		each(func(i int) { padded[i], lost[i] = w.pad(i, s, wps[i]) })
	}
	for i, err := range lost {
		if err != nil {
			w.lose(i, err)
		}
		w.dirty = w.dirty || padded[i]
	}
	if err := w.checkLost(); err != nil {
		return nil, err
	}
	return w, nil
}

// zoneAt returns the write pointer of sequential member i, checking that
// stripe s's unit can be written there or after: the error that loses the
// member (its zone cannot be reported or written), or one that fails
// Resume (ErrSet).
func (w *Writer) zoneAt(i int, s int64) (wp int64, lost, bad error) {
	g := w.g
	loc := g.set.Members[i].Loc
	z, ok := dev.AsZoned(loc.Dev)
	if !ok {
		return 0, nil, fmt.Errorf("%w: %w", ErrSet, w.memberErr(i, "resume", errors.New("sequential segment on a device that is not zoned")))
	}
	zn, err := reportZone(z, loc)
	if err != nil {
		return 0, w.memberErr(i, "resume: report zone", err), nil
	}
	target := g.unitOffset(i, s)
	switch zn.Cond {
	case dev.ZoneCondOffline:
		return 0, w.memberErr(i, "resume", dev.ErrZoneOffline), nil
	case dev.ZoneCondReadOnly:
		return 0, w.memberErr(i, "resume", dev.ErrZoneReadOnly), nil
	case dev.ZoneCondFull:
		if s == g.stripes {
			return target, nil, nil // nothing more to write anyway
		}
		return 0, nil, fmt.Errorf("%w: %w", ErrSet, w.memberErr(i, "resume",
			fmt.Errorf("zone is full (finished): it cannot take stripe %d at %d", s, target)))
	}
	if zn.WritePointer > target {
		return 0, nil, fmt.Errorf("%w: %w", ErrSet, w.memberErr(i, "resume",
			fmt.Errorf("write pointer %d is past stripe %d's unit at %d, and a zone cannot be written twice: resume at WrittenEnd or later",
				zn.WritePointer, s, target)))
	}
	return zn.WritePointer, nil, nil
}

// pad brings sequential member i's write pointer from wp to stripe s's
// unit with zeros. It returns whether it wrote anything and the error that
// loses the member.
func (w *Writer) pad(i int, s, wp int64) (padded bool, lost error) {
	g := w.g
	m := g.set.Members[i]
	target := g.unitOffset(i, s)
	switch {
	case wp == m.Loc.Start:
		// The zone is empty: Create stopped before this member's header.
		// seg.Create's reset of an empty zone loses nothing.
		if _, err := seg.Create(m.Loc, seg.Header{
			Node: m.Node, Drive: m.Drive, Kind: seg.KindData,
			Generation: m.Generation, Set: g.set.ID,
		}); err != nil {
			return false, w.memberErr(i, "resume: create segment", err)
		}
		wp = m.Loc.Start + g.hdr[i]
	case wp < m.Loc.Start+g.hdr[i]:
		return false, w.memberErr(i, "resume", fmt.Errorf("write pointer %d inside the segment header", wp))
	}
	if wp == target {
		return false, nil
	}
	zero := dev.AlignedBuffer(min(int(target-wp), g.unit))
	for wp < target {
		n := min(target-wp, int64(len(zero)))
		if _, err := m.Loc.Dev.WriteAt(zero[:n], wp); err != nil {
			return padded, w.memberErr(i, fmt.Sprintf("resume: pad [%d, %d) with zeros", wp, target), err)
		}
		wp += n
		padded = true
	}
	return padded, nil
}

// reportZone returns the zone of a sequential segment.
func reportZone(z dev.ZonedDevice, loc seg.Location) (dev.Zone, error) {
	zs, err := z.ReportZones(loc.Start, 1)
	if err != nil {
		return dev.Zone{}, err
	}
	if len(zs) != 1 || zs[0].Start != loc.Start {
		return dev.Zone{}, fmt.Errorf("no zone starts at %d", loc.Start)
	}
	return zs[0], nil
}

// WrittenEnd returns the stream offset just past the last stripe any
// sequential member of set holds, from the members' zone write pointers:
// the maximum over them of ceil((wp - Start - bs) / U) stripes (0 when a
// zone holds only its header, the set's stripe count for a full zone,
// whose write pointer no longer says how much was written). Resume on
// zoned members must start there or later.
//
// The stripes between the caller's last committed frontier and WrittenEnd
// were written (perhaps on some members only) but never acknowledged: they
// are garbage that a reader of the stream must tolerate (blocks whose tags
// fail, or records nothing references).
//
// Members without a device or on conventional drives are not looked at;
// nor are members whose zone cannot be reported or is offline or read-only
// (Resume loses them). With no sequential member WrittenEnd fails with an
// error wrapping ErrUnknownEnd: a conventional drive keeps no write
// pointer, and the caller uses its own committed frontier. With sequential
// members none of which can be reported it fails with their errors.
func WrittenEnd(set Set) (int64, error) {
	g, err := newGeometry(set, false)
	if err != nil {
		return 0, err
	}
	var (
		end     int64
		seq     int
		failed  []error
		written bool
	)
	for i, m := range set.Members {
		if m.Loc.Dev == nil || !m.Loc.Sequential {
			continue
		}
		seq++
		me := func(err error) error {
			return &MemberError{Set: set.ID, Member: i, Loc: m.Loc, Op: "written end", Err: err}
		}
		z, ok := dev.AsZoned(m.Loc.Dev)
		if !ok {
			return 0, fmt.Errorf("%w: %w", ErrSet, me(errors.New("sequential segment on a device that is not zoned")))
		}
		zn, err := reportZone(z, m.Loc)
		if err != nil {
			failed = append(failed, me(err))
			continue
		}
		var n int64
		switch zn.Cond {
		case dev.ZoneCondOffline, dev.ZoneCondReadOnly:
			failed = append(failed, me(fmt.Errorf("zone is %s", zn.Cond)))
			continue
		case dev.ZoneCondFull:
			n = g.stripes
		default:
			if b := zn.WritePointer - m.Loc.Start - g.hdr[i]; b > 0 {
				n = min(g.stripes, (b+int64(g.unit)-1)/int64(g.unit))
			}
		}
		end = max(end, n*g.stripeBytes)
		written = true
	}
	if seq == 0 {
		return 0, fmt.Errorf("data log set %d: %w: no member is a sequential zone", set.ID, ErrUnknownEnd)
	}
	if !written {
		return 0, fmt.Errorf("data log set %d: no zoned member can be reported: %w", set.ID, errors.Join(failed...))
	}
	return end, nil
}

// End returns the stream offset the next Append writes at.
func (w *Writer) End() int64 { return w.end }

// Capacity returns the number of stream bytes the set holds.
func (w *Writer) Capacity() int64 { return w.g.stripes * w.g.stripeBytes }

// Lost returns the indexes of the members the Writer lost, in increasing
// order: their write or flush failed (or, for Resume, they had no device
// or their zone could not be caught up), and nothing more is written to
// them. A failure of the stripe being written in the background shows
// after the next Append that writes a stripe, or Flush.
func (w *Writer) Lost() []int {
	var l []int
	for i, err := range w.lost {
		if err != nil {
			l = append(l, i)
		}
	}
	return l
}

// LostErr returns the first error of member i, the one that lost it (a
// *MemberError), or nil if member i is not lost.
func (w *Writer) LostErr(i int) error {
	if i < 0 || i >= len(w.lost) {
		return nil
	}
	return w.lost[i]
}

// Append adds p to the stream and returns the stream offset of its first
// byte. Complete stripes are written as they fill (in the background: a
// failed write is reported by a later Append or by Flush); the rest waits
// for a later Append or Flush. An append that does not fit the set fails
// with ErrFull and appends nothing. Append fails with ErrBroken once more
// than K members are lost, and with ErrFinished after Finish.
func (w *Writer) Append(p []byte) (int64, error) {
	if err := w.usable(); err != nil {
		return 0, err
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
			if err := w.sealStripe((w.end - 1) / w.g.stripeBytes); err != nil {
				return 0, err
			}
		}
	}
	return start, nil
}

// Flush pads a partial stripe with zeros, writes it and flushes every
// member device not lost. It returns the stream end: the next Append
// starts there (at a stripe boundary). When it returns nil, every stripe
// appended since the previous Flush is durable on every member not lost,
// at least N of them: members that fail now are lost, and more than K
// lost fail Flush with ErrBroken. It is BeginFlush, its sync and EndFlush.
func (w *Writer) Flush() (int64, error) {
	end, flush, err := w.BeginFlush()
	if err != nil {
		return end, err
	}
	return end, w.EndFlush(flush())
}

// BeginFlush is the first half of Flush: it pads and writes the partial
// stripe and waits for every write issued, and returns the stream end and
// a function that flushes the member devices (their caches) and returns
// each member's error. That function touches no state of the Writer, so
// the caller may run it without the lock that serialises the Writer, while
// more is appended (what is appended meanwhile may or may not be made
// durable by it; the returned end is what is). Its result goes to
// EndFlush.
func (w *Writer) BeginFlush() (int64, func() []error, error) {
	none := func() []error { return nil }
	if err := w.usable(); err != nil {
		return w.end, none, err
	}
	if w.end%w.g.stripeBytes != 0 {
		s := w.end / w.g.stripeBytes
		// The buffer's unused payload bytes are zero (cleared after each
		// stripe), so the padding is already in place.
		w.end = (s + 1) * w.g.stripeBytes
		if err := w.sealStripe(s); err != nil {
			return w.end, none, err
		}
	}
	if err := w.writeBatch(); err != nil {
		return w.end, none, err
	}
	if err := w.wait(); err != nil {
		return w.end, none, err
	}
	if !w.dirty {
		return w.end, none, nil
	}
	w.dirty = false
	devs := make([]dev.Device, len(w.g.set.Members))
	for i, m := range w.g.set.Members {
		if w.lost[i] == nil {
			devs[i] = m.Loc.Dev
		}
	}
	flush := func() []error {
		errs := make([]error, len(devs))
		var wg sync.WaitGroup
		for i, d := range devs {
			if d == nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = d.Flush()
			}()
		}
		wg.Wait()
		return errs
	}
	return w.end, flush, nil
}

// EndFlush takes the member errors of BeginFlush's sync: a member whose
// flush failed is lost (what of its writes reached the media is unknown),
// and more than K lost break the Writer.
func (w *Writer) EndFlush(errs []error) error {
	for i, err := range errs {
		if err != nil {
			w.lose(i, w.memberErr(i, "flush", err))
		}
	}
	return w.checkLost()
}

// Finish ends the Writer: a final Flush, then each zoned member's zone is
// finished (dev.ZonedDevice.FinishZone), so the set holds no open or
// active zone resources of its drives. Conventional and lost members have
// nothing to finish. Every later Append or Flush fails with ErrFinished.
// Finish finishes the zones even when the flush fails (the error is
// returned), and a later call retries the zones that failed to finish:
// once everything is finished, Finish returns what the final Flush did.
func (w *Writer) Finish() error {
	if !w.finished {
		_, _ = w.Flush() // its error is w.err, returned below
		w.finished = true
	}
	errs := make([]error, len(w.g.set.Members))
	var wg sync.WaitGroup
	for i, m := range w.g.set.Members {
		if w.zoneDone[i] || w.lost[i] != nil {
			continue
		}
		if !m.Loc.Sequential {
			w.zoneDone[i] = true
			continue
		}
		z, ok := dev.AsZoned(m.Loc.Dev)
		if !ok {
			errs[i] = w.memberErr(i, "finish zone", dev.ErrNotZoned)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := z.FinishZone(m.Loc.Start); err != nil {
				errs[i] = w.memberErr(i, "finish zone", err)
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err == nil {
			w.zoneDone[i] = true
		}
	}
	return errors.Join(append([]error{w.err}, errs...)...)
}

// Err returns the error that broke the Writer (more than K members lost),
// or nil: after Finish it says whether its final flush succeeded.
func (w *Writer) Err() error { return w.err }

// usable returns the error that makes the Writer unusable, if any.
func (w *Writer) usable() error {
	if w.finished {
		return fmt.Errorf("data log set %d: %w", w.g.set.ID, ErrFinished)
	}
	return w.err
}

// sealStripe tags and encodes the buffered stripe s, and writes the batch
// once it is full.
func (w *Writer) sealStripe(s int64) error {
	g := w.g
	if w.slot == 0 {
		w.first = s
	}
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
	w.slot++
	if w.slot < w.batch {
		w.units = w.sets[w.cur][w.slot]
		return nil
	}
	return w.writeBatch()
}

// writeBatch writes the sealed stripes of the current batch to every
// member not lost (one write per member), then switches to the other
// batch buffer, cleared.
func (w *Writer) writeBatch() error {
	if w.slot == 0 {
		return nil
	}
	if err := w.wait(); err != nil {
		return err
	}
	g := w.g
	region := w.batch * g.unit
	n, first, buf := w.slot, w.first, w.bufs[w.cur]
	for i, m := range g.set.Members {
		if w.lost[i] != nil {
			continue
		}
		w.inflight.Add(1)
		go func() {
			defer w.inflight.Done()
			if _, err := m.Loc.Dev.WriteAt(buf[i*region:i*region+n*g.unit], g.unitOffset(i, first)); err != nil {
				w.werrs[i] = w.memberErr(i, fmt.Sprintf("write stripes %d-%d", first, first+int64(n)-1), err)
			}
		}()
	}
	w.dirty = true
	// Fill the other buffer meanwhile: its writes finished in wait above.
	w.cur = 1 - w.cur
	w.slot = 0
	w.units = w.sets[w.cur][0]
	clear(w.bufs[w.cur])
	return nil
}

// wait waits for the previous stripe's writes, loses the members whose
// write failed, and breaks the Writer if more than K are lost.
func (w *Writer) wait() error {
	w.inflight.Wait()
	for i, err := range w.werrs {
		if err != nil {
			w.lose(i, err)
			w.werrs[i] = nil
		}
	}
	return w.checkLost()
}

// lose marks member i lost by err, unless it already is.
func (w *Writer) lose(i int, err error) {
	if w.lost[i] == nil {
		w.lost[i] = err
		w.nlost++
	}
}

// checkLost breaks the Writer when more than K members are lost: some
// stripes may then be on fewer than N members, and none written from now
// on could be decoded.
func (w *Writer) checkLost() error {
	if w.err != nil || w.nlost <= w.g.k {
		return w.err
	}
	var errs []error
	for _, err := range w.lost {
		if err != nil {
			errs = append(errs, err)
		}
	}
	w.err = fmt.Errorf("data log set %d: %w: %d of %d members lost, at most %d may be: %w",
		w.g.set.ID, ErrBroken, w.nlost, len(w.lost), w.g.k, errors.Join(errs...))
	return w.err
}
