package datalog

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/stripe"
)

// Reader reads the stream of a set. It is safe for concurrent use.
// ReadAt reads a range; NewSequential streams one with read-ahead.
type Reader struct {
	g     *geometry
	end   int64
	codec *stripe.Codec
	err   error     // a set that cannot be read at all
	bufs  sync.Pool // *[]byte: aligned buffers of one unit
	hedge func(member int) time.Duration
}

// Open returns a Reader of the first streamEnd bytes of set's stream.
// Members whose device is nil are read as missing. An invalid set makes
// every read fail.
func Open(set Set, streamEnd int64) *Reader {
	r := &Reader{end: streamEnd}
	r.g, r.err = newGeometry(set, false)
	if r.err != nil {
		return r
	}
	if streamEnd < 0 || streamEnd > r.g.stripes*r.g.stripeBytes {
		r.err = fmt.Errorf("%w: stream end %d outside the set's %d bytes", ErrSet, streamEnd, r.g.stripes*r.g.stripeBytes)
		return r
	}
	if r.codec, r.err = stripe.New(set.Layout); r.err != nil {
		return r
	}
	return r
}

// ReadAt reads len(p) stream bytes at stream offset off into p. The Report
// names the members found missing, corrupt or rebuilt on the way (member
// indexes, merged over the stripes the range covers); data returned with a
// nil error is verified. A range outside [0, streamEnd) fails with
// ErrRange; too many bad members with an error wrapping
// stripe.ErrUnrecoverable.
func (r *Reader) ReadAt(p []byte, off int64) (stripe.Report, error) {
	var rep stripe.Report
	if r.err != nil {
		return rep, r.err
	}
	if off < 0 || off > r.end || int64(len(p)) > r.end-off {
		return rep, fmt.Errorf("data log set %d: read [%d, %d) of a %d-byte stream: %w",
			r.g.set.ID, off, off+int64(len(p)), r.end, ErrRange)
	}
	// The stripes of the range are read at once: each reads its data
	// units in parallel too, so a range of several stripes keeps every
	// data member busy.
	type piece struct {
		s, in int64
		p     []byte
		rep   stripe.Report
		err   error
	}
	var pieces []piece
	sb := r.g.stripeBytes
	for len(p) > 0 {
		s, in := off/sb, off%sb
		n := min(int64(len(p)), sb-in)
		pieces = append(pieces, piece{s: s, in: in, p: p[:n]})
		p = p[n:]
		off += n
	}
	if len(pieces) == 1 {
		err := r.readStripe(pieces[0].s, pieces[0].in, pieces[0].p, &rep)
		return rep, err
	}
	var wg sync.WaitGroup
	for i := range pieces {
		pc := &pieces[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			pc.err = r.readStripe(pc.s, pc.in, pc.p, &pc.rep)
		}()
	}
	wg.Wait()
	var errs []error
	for _, pc := range pieces {
		mergeReport(&rep, &pc.rep)
		if pc.err != nil {
			errs = append(errs, pc.err)
		}
	}
	return rep, errors.Join(errs...)
}

// readStripe reads stripe-relative stream bytes [in, in+len(p)) of stripe s.
func (r *Reader) readStripe(s, in int64, p []byte, rep *stripe.Report) error {
	bLo := int(in / BlockPayload)
	bHi := int((in + int64(len(p)) - 1) / BlockPayload) // inclusive
	dLo, dHi := bLo/r.g.bpu, bHi/r.g.bpu
	if deadline, skip := r.hedgeDeadline(dLo, dHi); deadline > 0 {
		return r.readStripeHedged(s, in, p, rep, deadline, skip, bLo, bHi)
	}
	var partsArr [8]unitPart
	parts := r.unitParts(partsArr[:0], bLo, bHi)
	var bufsArr [8]*[]byte
	bufs := bufsArr[:0]
	for i := range parts {
		bufs = append(bufs, r.getBuf())
		parts[i].buf = *bufs[i]
	}
	defer func() {
		for _, b := range bufs {
			r.putBuf(b)
		}
	}()
	read := func(pt *unitPart) {
		pt.ok, pt.err = r.readBlocks(s, pt.d, pt.j0, pt.j1, pt.buf)
	}
	if len(parts) == 1 {
		read(&parts[0])
	} else {
		var wg sync.WaitGroup
		for i := range parts[1:] {
			wg.Go(func() { read(&parts[1+i]) })
		}
		read(&parts[0])
		wg.Wait()
	}
	return r.finishStripe(s, in, p, rep, parts, nil, bLo, bHi)
}

// unitPart is the part of a data unit a stripe read wants: blocks
// [j0, j1] of data unit d, read into buf.
type unitPart struct {
	d, j0, j1 int
	buf       []byte
	ok        bool
	err       error
}

// unitParts appends the parts of the data units holding blocks
// [bLo, bHi] of a stripe.
func (r *Reader) unitParts(parts []unitPart, bLo, bHi int) []unitPart {
	bpu := r.g.bpu
	for d := bLo / bpu; d <= bHi/bpu; d++ {
		j0, j1 := 0, bpu-1
		if d == bLo/bpu {
			j0 = bLo % bpu
		}
		if d == bHi/bpu {
			j1 = bHi % bpu
		}
		parts = append(parts, unitPart{d: d, j0: j0, j1: j1})
	}
	return parts
}

// finishStripe copies a stripe read's bytes out: from units when a
// rebuild already gave the verified data units, else from the parts, read
// whole again and rebuilt when a part is missing or fails its tags.
func (r *Reader) finishStripe(s, in int64, p []byte, rep *stripe.Report, parts []unitPart, units [][]byte, bLo, bHi int) error {
	if units == nil {
		for _, pt := range parts {
			switch {
			case pt.err != nil:
				addMember(&rep.Missing, pt.d)
			case !pt.ok:
				addMember(&rep.Corrupt, pt.d)
			default:
				continue
			}
			if units == nil {
				var err error
				if units, err = r.degraded(s, rep); err != nil {
					return err
				}
			}
		}
	}
	dLo := bLo / r.g.bpu
	copyOut(p, in, bLo, bHi, r.g.bpu, func(d, j int) []byte {
		if units != nil {
			return units[d][j*BlockSize : (j+1)*BlockSize]
		}
		pt := parts[d-dLo]
		return pt.buf[(j-pt.j0)*BlockSize : (j-pt.j0+1)*BlockSize]
	})
	return nil
}

// copyOut copies the payload of blocks [bLo, bHi] of a stripe, stripe
// stream bytes [in, in+len(p)), into p; block(d, j) is block j of data
// unit d.
func copyOut(p []byte, in int64, bLo, bHi, bpu int, block func(d, j int) []byte) {
	for b := bLo; b <= bHi; b++ {
		blk := block(b/bpu, b%bpu)
		lo, hi := int64(b)*BlockPayload, int64(b+1)*BlockPayload
		lo, hi = max(lo, in), min(hi, in+int64(len(p)))
		copy(p[lo-in:hi-in], blk[lo-int64(b)*BlockPayload:hi-int64(b)*BlockPayload])
	}
}

// readBlocks reads blocks [j0, j1] of data unit d of stripe s into the
// start of buf, in one IO, and checks their tags. It returns the read's
// error (errNoDevice for a member without a device) or, with a nil error,
// whether every block checks.
func (r *Reader) readBlocks(s int64, d, j0, j1 int, buf []byte) (ok bool, err error) {
	g := r.g
	m := &g.set.Members[d]
	if m.Loc.Dev == nil {
		return false, errNoDevice
	}
	buf = buf[:(j1-j0+1)*BlockSize]
	if _, err := m.Loc.Dev.ReadAt(buf, g.unitOffset(d, s)+int64(j0)*BlockSize); err != nil {
		return false, err
	}
	for j := j0; j <= j1; j++ {
		b := buf[(j-j0)*BlockSize : (j-j0+1)*BlockSize]
		if !checkBlock(b, g.set.ID, m.Generation, g.streamBlock(s, d, j)) {
			return false, nil
		}
	}
	return true, nil
}

// getBuf returns a recycled, aligned buffer of one unit.
func (r *Reader) getBuf() *[]byte {
	if b, ok := r.bufs.Get().(*[]byte); ok {
		return b
	}
	b := dev.AlignedBuffer(r.g.unit)
	return &b
}

// putBuf recycles a buffer of getBuf.
func (r *Reader) putBuf(b *[]byte) {
	if b != nil {
		r.bufs.Put(b)
	}
}

var (
	errNoDevice = errors.New("member has no device")
	errSkipped  = errors.New("skipped: slower than the hedge deadline")
)

// addMember adds member i to a sorted list unless it is there.
func addMember(l *[]int, i int) {
	k, found := slices.BinarySearch(*l, i)
	if !found {
		*l = slices.Insert(*l, k, i)
	}
}

// degraded reads the whole stripe s, rebuilds the data units that are
// missing or fail their tags, and returns the N verified data units.
func (r *Reader) degraded(s int64, rep *stripe.Report) ([][]byte, error) {
	return r.degradedSkip(s, rep, nil)
}

// degradedSkip is degraded without reading the members in skip (slow ones
// a hedged read gave up on): they are rebuilt like missing ones but not
// reported.
func (r *Reader) degradedSkip(s int64, rep *stripe.Report, skip []int) ([][]byte, error) {
	g := r.g
	m := len(g.set.Members)
	buf := dev.AlignedBuffer(m * g.unit)
	units := make([][]byte, m)
	errs := make([]error, m)
	var wg sync.WaitGroup
	for i, mem := range g.set.Members {
		units[i] = buf[i*g.unit : (i+1)*g.unit : (i+1)*g.unit]
		if slices.Contains(skip, i) {
			errs[i] = errSkipped
			continue
		}
		if mem.Loc.Dev == nil {
			errs[i] = errNoDevice
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = mem.Loc.Dev.ReadAt(units[i], g.unitOffset(i, s))
		}()
	}
	wg.Wait()
	good := make([]bool, m) // data: read and every tag checks; parity: read
	var lost []int          // data units to rebuild
	var parity []int        // parity units that were read
	var detail []string
	for i := range m {
		switch {
		case errs[i] == errSkipped:
			detail = append(detail, fmt.Sprintf("member %d: %v", i, errs[i]))
		case errs[i] != nil:
			addMember(&rep.Missing, i)
			detail = append(detail, fmt.Sprintf("member %d: %v", i, errs[i]))
		case i >= g.n:
			good[i] = true
			parity = append(parity, i)
		case r.checkUnit(units[i], s, i):
			good[i] = true
		default:
			addMember(&rep.Corrupt, i)
			detail = append(detail, fmt.Sprintf("member %d: block tag mismatch", i))
		}
		if i < g.n && !good[i] {
			lost = append(lost, i)
		}
	}
	if len(lost) > 0 {
		if len(lost) > len(parity) {
			return nil, fmt.Errorf("data log set %d stripe %d: %d of %d data units bad, %d parity units readable (%v): %w",
				g.set.ID, s, len(lost), g.n, len(parity), detail, stripe.ErrUnrecoverable)
		}
		if !r.rebuild(s, units, lost, parity) {
			return nil, fmt.Errorf("data log set %d stripe %d: no choice of %d of the parity units %v rebuilds data units %v that check (%v): %w",
				g.set.ID, s, len(lost), parity, lost, detail, stripe.ErrUnrecoverable)
		}
		for _, d := range lost {
			if !slices.Contains(skip, d) {
				addMember(&rep.Rebuilt, d)
			}
		}
	}
	// The data is verified; parity units that disagree with it are corrupt
	// (or stale, or misdirected): report them for repair.
	if len(parity) > 0 {
		full := make([][]byte, m)
		copy(full, units[:g.n])
		for i := g.n; i < m; i++ {
			full[i] = make([]byte, g.unit)
		}
		if err := r.codec.Encode(full); err != nil {
			return nil, fmt.Errorf("data log set %d stripe %d: encode: %w", g.set.ID, s, err)
		}
		for _, i := range parity {
			if string(full[i]) != string(units[i]) {
				addMember(&rep.Corrupt, i)
			}
		}
	}
	return units[:g.n], nil
}

// checkUnit reports whether every block of data unit d of stripe s checks.
func (r *Reader) checkUnit(u []byte, s int64, d int) bool {
	g := r.g
	gen := g.set.Members[d].Generation
	for j := 0; j < g.bpu; j++ {
		if !checkBlock(u[j*BlockSize:(j+1)*BlockSize], g.set.ID, gen, g.streamBlock(s, d, j)) {
			return false
		}
	}
	return true
}

// rebuild reconstructs the data units lost from the good data units and
// each choice of len(lost) of the parity units in turn, until the rebuilt
// units check. It leaves them in units and reports success.
func (r *Reader) rebuild(s int64, units [][]byte, lost, parity []int) bool {
	g := r.g
	isLost := make([]bool, g.n)
	for _, d := range lost {
		isLost[d] = true
	}
	choice := make([]int, len(lost)) // indexes into parity, increasing
	for i := range choice {
		choice[i] = i
	}
	shards := make([][]byte, len(units))
	for attempt := 0; attempt < MaxAttempts; attempt++ {
		for i := range shards {
			shards[i] = nil
		}
		for d := 0; d < g.n; d++ {
			if isLost[d] {
				shards[d] = units[d][:0]
			} else {
				shards[d] = units[d]
			}
		}
		for _, c := range choice {
			shards[parity[c]] = units[parity[c]]
		}
		// Unchecked decoding: the rebuilt blocks are checked against their
		// tags below, which also finds a bad parity unit by elimination.
		if err := r.codec.DecodeData(shards); err == nil {
			ok := true
			for _, d := range lost {
				if !r.checkUnit(shards[d], s, d) {
					ok = false
					break
				}
			}
			if ok {
				for _, d := range lost {
					if &shards[d][0] != &units[d][0] {
						copy(units[d], shards[d])
					}
				}
				return true
			}
		}
		if !nextCombination(choice, len(parity)) {
			return false
		}
	}
	return false
}

// nextCombination advances c, an increasing choice of len(c) of n indexes,
// to the next in lexicographic order; false after the last.
func nextCombination(c []int, n int) bool {
	k := len(c)
	for i := k - 1; i >= 0; i-- {
		if c[i] < n-k+i {
			c[i]++
			for j := i + 1; j < k; j++ {
				c[j] = c[j-1] + 1
			}
			return true
		}
	}
	return false
}
