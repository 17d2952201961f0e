package pool

import (
	"context"
	"errors"
	"fmt"

	"github.com/plinth-storage/plinth/alloc"
)

// CheckOptions says how deep Check looks.
type CheckOptions struct {
	// Deep reads every referenced record back and checks that it says what
	// the index says (owner, version, offset, length, payload checksum).
	Deep bool
	// MaxProblems bounds the problems reported (default 20).
	MaxProblems int
}

// Check verifies the pool: the allocator's own checks (segments in one set
// at most, members on distinct drives, free segments unreferenced, counters
// equal to the trees), then the index against the allocator: every head
// decodes; a data head's extents cover [0, size) without gaps or overlaps,
// at its version; every extent and tombstone points into a set that exists,
// below its frontier, with the length its header and payload take; no
// record is referenced twice; no extent lacks a data head; and each set's
// live bytes equal the record bytes referenced in it. Problems wrap
// ErrCorrupt and name the owner, set and offset.
//
// The pool holds still while it is checked: commits wait (writes block),
// the cleaner and repairs wait, no set is released. Reads go on.
func (p *Pool) Check(ctx context.Context, o CheckOptions) error {
	if o.MaxProblems <= 0 {
		o.MaxProblems = 20
	}
	p.clean.run.Lock()
	defer p.clean.run.Unlock()
	p.commitMu.Lock()
	defer p.commitMu.Unlock()
	p.gate.RLock()
	defer p.gate.RUnlock()
	var problems []error
	report := func(format string, args ...any) bool {
		problems = append(problems, fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...))
		return len(problems) < o.MaxProblems
	}
	if err := p.al.Check(ctx); err != nil {
		problems = append(problems, err)
	}
	sets := map[alloc.SetID]alloc.Set{}
	for s, err := range p.al.Sets(ctx) {
		if err != nil {
			return err
		}
		sets[s.ID] = s
	}
	view, err := p.st.View(p.heads, p.extents)
	if err != nil {
		return err
	}
	defer view.Close()
	live := map[alloc.SetID]int64{}
	refs := map[loc]string{}
	ref := func(owner []byte, l loc) bool {
		s, ok := sets[l.set]
		switch {
		case !ok:
			return report("%q: record in set %d, which does not exist", owner, l.set)
		case l.off+l.len > s.Frontier:
			return report("%q: record at %d+%d in set %d beyond its frontier %d", owner, l.off, l.len, l.set, s.Frontier)
		}
		if other, dup := refs[l]; dup {
			return report("%q and %q reference the same record (set %d at %d)", owner, other, l.set, l.off)
		}
		refs[l] = string(owner)
		live[l.set] += l.len
		return true
	}
	hit, err := view.Iter(p.heads)
	if err != nil {
		return err
	}
	dataHeads := 0
	extentsSeen := 0
	for ok := hit.First(); ok; ok = hit.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		owner := hit.Key()
		h, err := decodeHead(hit.Value())
		if err != nil {
			if !report("head of %q: %v", owner, err) {
				break
			}
			continue
		}
		if h.state == stateTombstone {
			if h.tomb.len != headerLen(len(owner)) {
				report("%q: tombstone of %d bytes, want %d", owner, h.tomb.len, headerLen(len(owner)))
			}
			if !ref(owner, h.tomb) {
				break
			}
			if o.Deep {
				p.checkRecord(owner, h.version, 0, extent{rec: h.tomb}, kindTombstone, report)
			}
			continue
		}
		dataHeads++
		ow, err := p.readOwner(view, owner)
		if err != nil {
			report("%v", err)
			continue
		}
		at := int64(0)
		for _, e := range ow.exts {
			extentsSeen++
			switch {
			case e.offset != at:
				report("%q: extent at %d, expected one at %d", owner, e.offset, at)
			case e.version != h.version:
				report("%q: extent at %d of version %d, head at %d", owner, e.offset, e.version, h.version)
			case e.rec.len != headerLen(len(owner))+e.payload:
				report("%q: extent at %d: record of %d bytes for a payload of %d", owner, e.offset, e.rec.len, e.payload)
			}
			at = e.offset + e.payload
			if !ref(owner, e.rec) {
				break
			}
			if o.Deep {
				p.checkRecord(owner, h.version, e.offset, e, kindData, report)
			}
		}
		if at != h.size || len(ow.exts) == 0 {
			report("%q: extents cover %d bytes of %d", owner, at, h.size)
		}
		if len(problems) >= o.MaxProblems {
			break
		}
	}
	if err := hit.Err(); err != nil {
		return err
	}
	// Extents without a data head.
	eit, err := view.Iter(p.extents)
	if err != nil {
		return err
	}
	total := 0
	for ok := eit.First(); ok; ok = eit.Next() {
		total++
	}
	if err := eit.Err(); err != nil {
		return err
	}
	if total != extentsSeen && len(problems) < o.MaxProblems {
		report("%d extents in the index, %d belong to data heads (%d heads)", total, extentsSeen, dataHeads)
	}
	for id, s := range sets {
		if live[id] != s.Live && len(problems) < o.MaxProblems {
			report("set %d: %d live bytes in the allocator, %d referenced by the index", id, s.Live, live[id])
		}
	}
	for id := range live {
		if _, ok := sets[id]; !ok && len(problems) < o.MaxProblems {
			report("set %d: referenced by the index but not in the allocator", id)
		}
	}
	return errors.Join(problems...)
}

// checkRecord reads a referenced record back and compares it with the index.
func (p *Pool) checkRecord(owner []byte, version uint64, offset int64, e extent, kind byte, report func(string, ...any) bool) {
	r, err := p.reader(e.rec.set, e.rec.off+e.rec.len)
	if err != nil {
		report("%q: %v", owner, err)
		return
	}
	b := make([]byte, e.rec.len)
	if _, err := r.ReadAt(b, e.rec.off); err != nil {
		report("%q: record in set %d at %d: %v", owner, e.rec.set, e.rec.off, err)
		return
	}
	if err := recordSays(owner, version, extent{offset: offset, rec: e.rec, payload: e.payload, checksum: e.checksum}, kind, b); err != nil {
		report("%v", err)
	}
}
