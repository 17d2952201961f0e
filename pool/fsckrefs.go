package pool

import (
	"bytes"
	"context"
	"fmt"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/btree/store"
)

// Ref is one entry of the index pointing at a record of the log: a data
// head's extent, or a written tombstone's head. fsck's repair works with
// them.
type Ref struct {
	Owner     []byte
	Tombstone bool
	Version   uint64
	Offset    int64 // data: the logical offset of the extent's payload
	// Set, At and Length locate the record (At is its stream offset).
	Set    alloc.SetID
	At     int64
	Length int64
	// payload and checksum are the data extent's, as the index has them
	// (what a deep check compares the record with).
	payload  int64
	checksum uint64
}

func (r Ref) loc() loc { return loc{set: r.Set, off: r.At, len: r.Length} }

func (r Ref) String() string {
	if r.Tombstone {
		return fmt.Sprintf("the tombstone of %q (version %d)", r.Owner, r.Version)
	}
	return fmt.Sprintf("the extent of %q at %d (version %d)", r.Owner, r.Offset, r.Version)
}

// eachRef calls fn for every record the index references, as Check finds
// them: each data head's extents, each written tombstone's record. Heads
// and extents that cannot be decoded are skipped (Check reports them).
// Owners in skip are left out.
func (p *Pool) eachRef(ctx context.Context, view *store.View, skip map[string]bool, fn func(Ref) error) error {
	hit, err := view.Iter(p.heads)
	if err != nil {
		return err
	}
	for ok := hit.First(); ok; ok = hit.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if skip[string(hit.Key())] {
			continue
		}
		owner := bytes.Clone(hit.Key())
		h, err := decodeHead(hit.Value())
		if err != nil {
			continue
		}
		if h.state == stateTombstone {
			if h.tomb.set != 0 {
				if err := fn(Ref{Owner: owner, Tombstone: true, Version: h.version, Set: h.tomb.set, At: h.tomb.off, Length: h.tomb.len}); err != nil {
					return err
				}
			}
			continue
		}
		ow, err := p.readOwner(view, owner)
		if err != nil {
			continue
		}
		for _, e := range ow.exts {
			if err := fn(Ref{Owner: owner, Version: e.version, Offset: e.offset, Set: e.rec.set, At: e.rec.off, Length: e.rec.len,
				payload: e.payload, checksum: e.checksum}); err != nil {
				return err
			}
		}
	}
	return hit.Err()
}

// indexLive is the record bytes the index references in each set, each
// record counted once (as Check counts them), leaving out the owners in
// skip.
func (p *Pool) indexLive(ctx context.Context, view *store.View, skip map[string]bool) (map[alloc.SetID]int64, error) {
	live := map[alloc.SetID]int64{}
	seen := map[loc]bool{}
	err := p.eachRef(ctx, view, skip, func(r Ref) error {
		if l := r.loc(); !seen[l] {
			seen[l] = true
			live[r.Set] += r.Length
		}
		return nil
	})
	return live, err
}

// Duplicate is a record of the log that several index entries point at
// (Check's "reference the same record").
type Duplicate struct {
	Set    alloc.SetID
	At     int64 // the record's stream offset
	Length int64
	Refs   []Ref
	// Header is what the record's own header says (owner, kind,
	// version, offset); nil when it cannot be read, HeaderErr saying why.
	Header    *Ref
	HeaderErr error
}

// Wrong returns the references the record's header does not describe:
// they point at another owner's record (or another version or offset of
// their own). Nil when the header could not be read: nothing can be
// decided then.
func (d Duplicate) Wrong() []Ref {
	if d.Header == nil {
		return nil
	}
	var out []Ref
	for _, r := range d.Refs {
		h := d.Header
		right := bytes.Equal(r.Owner, h.Owner) && r.Tombstone == h.Tombstone && r.Version == h.Version && (r.Tombstone || r.Offset == h.Offset)
		if !right {
			out = append(out, r)
		}
	}
	return out
}

// Duplicates lists the records several index entries point at, each with
// what its own header says: the records describe themselves (see the
// package comment), so the header tells which entry is the record's
// owner's. It works on a pool opened read-only too.
func (p *Pool) Duplicates(ctx context.Context) ([]Duplicate, error) {
	p.clean.run.Lock()
	defer p.clean.run.Unlock()
	p.commitMu.Lock()
	defer p.commitMu.Unlock()
	view, err := p.st.View(p.heads, p.extents)
	if err != nil {
		return nil, err
	}
	defer view.Close()
	refs := map[loc][]Ref{}
	var order []loc
	err = p.eachRef(ctx, view, nil, func(r Ref) error {
		l := r.loc()
		if len(refs[l]) == 1 {
			order = append(order, l)
		}
		refs[l] = append(refs[l], r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pool %s: find records referenced twice: %w", p.name, err)
	}
	var out []Duplicate
	for _, l := range order {
		d := Duplicate{Set: l.set, At: l.off, Length: l.len, Refs: refs[l]}
		rec, err := p.recordAt(l)
		if err != nil {
			d.HeaderErr = err
		} else {
			d.Header = &Ref{Owner: bytes.Clone(rec.owner), Tombstone: rec.kind == kindTombstone, Version: rec.version,
				Offset: int64(rec.offset), Set: l.set, At: l.off, Length: rec.size()}
		}
		out = append(out, d)
	}
	return out, nil
}

// recordAt reads the header of the record at l.
func (p *Pool) recordAt(l loc) (record, error) {
	p.gate.RLock()
	defer p.gate.RUnlock()
	r, err := p.reader(l.set, l.off+l.len)
	if err != nil {
		return record{}, err
	}
	b := make([]byte, l.len)
	if _, err := r.ReadAt(b, l.off); err != nil {
		return record{}, fmt.Errorf("read the record in set %d at %d: %w", l.set, l.off, err)
	}
	rec, err := parseHeader(b)
	switch {
	case err != nil:
		return record{}, fmt.Errorf("the record in set %d at %d: %w", l.set, l.off, err)
	case rec.kind != kindData && rec.kind != kindTombstone:
		return record{}, fmt.Errorf("%w: set %d at %d holds a record of kind %d, neither data nor a tombstone", ErrCorrupt, l.set, l.off, rec.kind)
	}
	return rec, nil
}

// StripeRefs lists the index entries whose records lie in the given
// stripes (by set; a record never crosses a stripe boundary): what is lost
// when those stripes cannot be read. One pass over the index. It works on
// a pool opened read-only too.
func (p *Pool) StripeRefs(ctx context.Context, stripes map[alloc.SetID][]int64) ([]Ref, error) {
	want := map[stripeKey]bool{}
	for set, sts := range stripes {
		for _, st := range sts {
			want[stripeKey{set, st}] = true
		}
	}
	view, err := p.st.View(p.heads, p.extents)
	if err != nil {
		return nil, err
	}
	defer view.Close()
	var out []Ref
	err = p.eachRef(ctx, view, nil, func(r Ref) error {
		if want[stripeKey{r.Set, r.At / p.sb}] {
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pool %s: the records of the stripes %v: %w", p.name, stripes, err)
	}
	return out, nil
}

// StripeOf is the stripe a record at stream offset at lies in.
func (p *Pool) StripeOf(at int64) int64 { return at / p.sb }

// stripeKey names a stripe of a set.
type stripeKey struct {
	set    alloc.SetID
	stripe int64
}
