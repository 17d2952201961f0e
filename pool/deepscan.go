package pool

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/stripe"
)

// DeepResult is what DeepScan did and found.
type DeepResult struct {
	ScrubResult
	Records   int64 // referenced records read back and compared with the index
	BytesRead int64 // bytes read from the drives, data and parity units
	// Problems are the referenced records that do not say what the index
	// says, or cannot be read; each wraps ErrCorrupt and names the owner
	// and the set, as Check's do.
	Problems []error
}

// deepSpanBytes is how much of each member one read of a deep scan
// covers, and deepSpansAhead how many such reads are under way beyond the
// one being checked: while one span's stripes are verified (tags, parity:
// CPU) the next ones are read, so the drives stay busy. Measured with
// BenchmarkDeepScan (tools/fsck): 1 MiB three ahead did best; 2 to 8 MiB
// spans or more of them in flight were no faster on file drives.
// (A variable so that tests can make spans a few stripes long.)
var deepSpanBytes = 1 << 20

const deepSpansAhead = 3

// DeepScan is fsck's deep check in one pass over the drives: every
// written stripe of every set read whole, data and parity, and verified as
// a scrub does, without its rate limit and without queuing repairs (each
// damaged stripe goes to damage, its Live field
// saying whether a record the index references lies in it), and every
// record the index references taken from the verified stream as it goes
// by and compared with the index as Check with Deep does: the owner,
// version, logical offset, kind and payload length its header states, and
// its payload's checksum. Each member is read in spans of deepSpanBytes,
// several spans in flight, so the scan reads as the drives stream rather
// than a stripe or a record at a time, and no byte is read twice. Index
// problems that are not about a record's bytes (structure, accounting)
// are Check's to report. The pool holds still while it is scanned, as
// for Check.
func (p *Pool) DeepScan(ctx context.Context, progress func(done, total int64), damage func(StripeDamage)) (DeepResult, error) {
	var res DeepResult
	p.clean.run.Lock()
	defer p.clean.run.Unlock()
	p.commitMu.Lock()
	defer p.commitMu.Unlock()
	p.gate.RLock()
	defer p.gate.RUnlock()
	var sets []alloc.Set
	var total int64
	for s, err := range p.al.Sets(ctx) {
		if err != nil {
			return res, err
		}
		sets = append(sets, s)
		total += s.Frontier
	}
	slices.SortFunc(sets, func(a, b alloc.Set) int { return cmp.Compare(a.ID, b.ID) })
	want, err := p.referencedRecords(ctx)
	if err != nil {
		return res, err
	}
	var done int64
	for _, s := range sets {
		res.Sets++
		sc := &deepSet{p: p, s: s, want: want[s.ID], res: &res, damage: damage}
		if err := sc.run(ctx, func(d int64) {
			if progress != nil {
				progress(done+d, total)
			}
		}); err != nil {
			return res, err
		}
		done += s.Frontier
	}
	return res, nil
}

// referencedRecords lists, per set in stream order, every record the
// index references (eachRef: data extents and written tombstones).
func (p *Pool) referencedRecords(ctx context.Context) (map[alloc.SetID][]Ref, error) {
	view, err := p.st.View(p.heads, p.extents)
	if err != nil {
		return nil, err
	}
	defer view.Close()
	out := map[alloc.SetID][]Ref{}
	if err := p.eachRef(ctx, view, nil, func(r Ref) error {
		out[r.Set] = append(out[r.Set], r)
		return nil
	}); err != nil {
		return nil, err
	}
	for _, rs := range out {
		slices.SortFunc(rs, func(a, b Ref) int { return cmp.Compare(a.At, b.At) })
	}
	return out, nil
}

// deepSet scans one set.
type deepSet struct {
	p      *Pool
	s      alloc.Set
	want   []Ref // in stream order
	res    *DeepResult
	damage func(StripeDamage)

	window []byte // verified stream bytes from winStart
	winAt  int64
	bad    []badRange // stream ranges that could not be verified
}

type badRange struct {
	from, to int64
	err      error
}

// spanResult is one span of a set read and verified.
type spanResult struct {
	first int64
	data  []byte
	reps  []stripe.Report
	errs  []error
	err   error
}

func (d *deepSet) problem(format string, args ...any) {
	d.res.Problems = append(d.res.Problems, fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...))
}

func (d *deepSet) run(ctx context.Context, progress func(int64)) error {
	p, s := d.p, d.s
	if s.Frontier == 0 {
		d.flush(0)
		return nil
	}
	r, err := p.reader(s.ID, s.Frontier)
	if err != nil {
		d.res.Damaged++
		d.res.Unrecoverable++
		if d.damage != nil {
			d.damage(StripeDamage{Set: s.ID, Members: s.Members, Live: len(d.want) > 0, Err: err})
		}
		for _, w := range d.want {
			d.problem("%q: record in set %d at %d: %w", w.Owner, s.ID, w.At, err)
		}
		return nil
	}
	whole := s.Frontier / p.sb // stripes the span reads can cover
	per := max(1, int64(deepSpanBytes)/int64(p.layout.Unit))
	units := int64(p.layout.Members()) * int64(p.layout.Unit)
	// Spans are read by goroutines a few ahead of the one being checked;
	// results come back in order through one channel per span.
	futures := make(chan chan spanResult, deepSpansAhead)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(futures)
		for first := int64(0); first < whole; first += per {
			n := min(per, whole-first)
			f := make(chan spanResult, 1)
			select {
			case futures <- f:
			case <-stop:
				return
			}
			go func() {
				data := make([]byte, n*p.sb)
				reps, errs, err := r.VerifyStripes(data, first)
				f <- spanResult{first: first, data: data, reps: reps, errs: errs, err: err}
			}()
		}
	}()
	for f := range futures {
		if err := ctx.Err(); err != nil {
			return err
		}
		sp := <-f
		if sp.err != nil {
			return fmt.Errorf("set %d: verify stripes from %d: %w", s.ID, sp.first, sp.err)
		}
		for i := range sp.reps {
			d.noteStripe(sp.first+int64(i), sp.reps[i], sp.errs[i])
		}
		d.res.BytesRead += int64(len(sp.reps)) * units
		d.add(sp.first*p.sb, sp.data)
		progress(min(s.Frontier, (sp.first+int64(len(sp.reps)))*p.sb))
	}
	if tail := s.Frontier - whole*p.sb; tail > 0 {
		// The frontier ends inside the last stripe: verified one stripe at
		// a time, its bytes read through the ordinary read path.
		rep, err := r.VerifyStripe(whole)
		b := make([]byte, tail)
		if err == nil {
			_, err = r.ReadAt(b, whole*p.sb)
		}
		d.noteStripe(whole, rep, err)
		d.res.BytesRead += units
		d.add(whole*p.sb, b)
		progress(s.Frontier)
	}
	d.flush(s.Frontier)
	return nil
}

// noteStripe records what the scan found in stripe st.
func (d *deepSet) noteStripe(st int64, rep stripe.Report, err error) {
	d.res.Stripes++
	if err == nil && clean(rep) && len(rep.Mismatch) == 0 {
		return
	}
	from, to := st*d.p.sb, (st+1)*d.p.sb
	live := d.liveIn(from, to)
	dm := StripeDamage{Set: d.s.ID, Stripe: st, Report: rep, Members: d.s.Members, Live: live, Err: err}
	if err != nil {
		d.bad = append(d.bad, badRange{from, to, err})
	}
	switch {
	case !live:
		d.res.DeadDamaged++
	case err != nil:
		d.res.Damaged++
		d.res.Unrecoverable++
	default:
		d.res.Damaged++
	}
	if d.damage != nil {
		d.damage(dm)
	}
}

// liveIn reports whether a referenced record overlaps [from, to).
func (d *deepSet) liveIn(from, to int64) bool {
	i, _ := slices.BinarySearchFunc(d.want, from, func(w Ref, off int64) int {
		return cmp.Compare(w.At+w.Length, off+1)
	})
	return i < len(d.want) && d.want[i].At < to
}

// add appends verified stream bytes starting at off (the window's end) and
// checks every referenced record they complete.
func (d *deepSet) add(off int64, b []byte) {
	if len(d.window) == 0 {
		d.winAt = off
	}
	d.window = append(d.window, b...)
	d.flush(d.winAt + int64(len(d.window)))
}

// flush checks the referenced records that end at or before end, then
// drops the window's bytes no record still needs.
func (d *deepSet) flush(end int64) {
	for len(d.want) > 0 && d.want[0].At+d.want[0].Length <= end {
		d.check(d.want[0])
		d.want = d.want[1:]
	}
	keep := end
	if len(d.want) > 0 {
		keep = min(keep, d.want[0].At)
	}
	if cut := keep - d.winAt; cut > 0 && len(d.window) > 0 {
		cut = min(cut, int64(len(d.window)))
		d.window = append(d.window[:0], d.window[cut:]...)
		d.winAt += cut
	}
}

// check compares one referenced record with the bytes the scan verified.
func (d *deepSet) check(w Ref) {
	d.res.Records++
	l := w.loc()
	for _, b := range d.bad {
		if l.off < b.to && b.from < l.off+l.len {
			d.problem("%q: record in set %d at %d: %w", w.Owner, l.set, l.off, b.err)
			return
		}
	}
	if l.off < d.winAt || l.off+l.len > d.winAt+int64(len(d.window)) {
		d.problem("%q: record in set %d at %d+%d lies outside the set's written stream", w.Owner, l.set, l.off, l.len)
		return
	}
	kind, e := byte(kindData), extent{offset: w.Offset, rec: l, payload: w.payload, checksum: w.checksum}
	if w.Tombstone {
		kind, e = kindTombstone, extent{rec: l}
	}
	if err := recordSays(w.Owner, w.Version, e, kind, d.window[l.off-d.winAt:l.off-d.winAt+l.len]); err != nil {
		d.problem("%v", err)
	}
}

// recordSays checks that b, the bytes of a referenced record, hold one
// record that says what the index says: owner, version, logical offset,
// kind and payload length, and for data the index's payload checksum.
func recordSays(owner []byte, version uint64, e extent, kind byte, b []byte) error {
	rc, err := scanStripe(b, e.rec.off)
	switch {
	case err != nil:
		return fmt.Errorf("%q: %w", owner, err)
	case len(rc) != 1:
		return fmt.Errorf("%q: set %d at %d holds %d records", owner, e.rec.set, e.rec.off, len(rc))
	case rc[0].kind != kind || !bytes.Equal(rc[0].owner, owner) || rc[0].version != version || int64(rc[0].offset) != e.offset || int64(rc[0].payload) != e.payload:
		return fmt.Errorf("%q: the record in set %d at %d is of %q version %d offset %d, kind %d", owner, e.rec.set, e.rec.off, rc[0].owner, rc[0].version, rc[0].offset, rc[0].kind)
	case kind == kindData && rc[0].checksum != e.checksum:
		return fmt.Errorf("%q: record in set %d at %d: checksum differs from the index", owner, e.rec.set, e.rec.off)
	}
	return nil
}
