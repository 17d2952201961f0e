package alloc

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"
)

// Replacement is a pending replacement of one member of a set: the
// transactional part of a rebuild. BeginReplace picks the target segment
// and records it in the set's entry; the caller writes the member's
// reconstructed contents into the target; CommitReplace makes the target
// the member (or AbortReplace gives it up). Each step is one store
// transaction, so a restarted node finds the replacements still pending
// (Replacements) and resumes or aborts them.
type Replacement struct {
	Set    SetID
	Member int // the member's index in the set (member order)
	// Target is the segment that becomes the member when the replacement
	// commits, with the generation of this use of it (the one the
	// reconstructed member's records carry).
	Target  Member
	Started time.Time // when BeginReplace committed
}

func (r Replacement) String() string {
	return fmt.Sprintf("replacement of member %d of set %d by %s", r.Member, r.Set, r.Target)
}

// withReplacement returns s with r pending, in member order.
func (s Set) withReplacement(r Replacement) Set {
	rs := make([]Replacement, 0, len(s.Replacing)+1)
	rs = append(rs, s.Replacing...)
	i, _ := slices.BinarySearchFunc(rs, r.Member, func(x Replacement, m int) int { return cmp.Compare(x.Member, m) })
	s.Replacing = slices.Insert(rs, i, r)
	return s
}

// withoutReplacement returns s without the pending replacement of member.
func (s Set) withoutReplacement(member int) Set {
	var rs []Replacement
	for _, r := range s.Replacing {
		if r.Member != member {
			rs = append(rs, r)
		}
	}
	s.Replacing = rs
	return s
}

// BeginReplace starts replacing member of set id (its drive failed, or is
// marked out): it picks a target segment, which becomes rebuilding in the
// set, and records the pending replacement in the set's entry, both in one
// transaction. The caller then writes the reconstructed member into the
// target and calls CommitReplace, or AbortReplace to give up.
//
// The target is the lowest free segment of a drive picked as NewSet picks
// them (weighted by free segments and health, within the cleaner reserve
// and the open-zone limits: a target holds an open zone of its drive until
// its replacement ends), among the drives that hold no other member of the
// set nor another of its pending targets and whose segments are large
// enough for the set's members. Spare drives are taken first; online and
// slow ones when no spare can; the member's own drive (when it is healthy:
// back from a transient failure, or only the member's segment was lost)
// when no other can; faulty and out drives never. ErrNoSpace says why no
// drive could.
//
// Several members of a set may be replaced at once, one replacement each.
// The set must be sealed: an open set is refused with ErrSetOpen (seal it
// first) and one being cleaned with ErrSetCleaning (retry later: once
// cleaned it is released); both errors are ErrState too. It waits while a
// batch holds the set.
func (a *Allocator) BeginReplace(ctx context.Context, id SetID, member int) (Replacement, error) {
	r, err := a.beginReplace(ctx, id, member, nil)
	if err != nil {
		return Replacement{}, fmt.Errorf("begin replacing member %d of set %d: %w", member, id, err)
	}
	return r, nil
}

// BeginReplaceOn is BeginReplace with the target on the given drive (a
// rebalance moving a member onto a new or emptier drive). The drive must
// be able to take it as BeginReplace's choice would (health, room, not in
// the set); ErrNoSpace says why not.
func (a *Allocator) BeginReplaceOn(ctx context.Context, id SetID, member int, drive uint32) (Replacement, error) {
	r, err := a.beginReplace(ctx, id, member, &drive)
	if err != nil {
		return Replacement{}, fmt.Errorf("begin moving member %d of set %d to drive %d: %w", member, id, drive, err)
	}
	return r, nil
}

func (a *Allocator) beginReplace(ctx context.Context, id SetID, member int, only *uint32) (Replacement, error) {
	b, s, locks, err := a.own(ctx, id)
	if err != nil {
		return Replacement{}, err
	}
	defer locks.done()
	switch {
	case member < 0 || member >= len(s.Members):
		return Replacement{}, fmt.Errorf("%w: the set has %d members", ErrInvalid, len(s.Members))
	case s.State == StateOpen:
		return Replacement{}, fmt.Errorf("%w (%w): seal it first (a rebuild reconstructs a complete stream; an open set's still grows)", ErrSetOpen, ErrState)
	case s.State == StateCleaning:
		return Replacement{}, fmt.Errorf("%w (%w): retry later (once cleaned it is released and needs no rebuild)", ErrSetCleaning, ErrState)
	}
	if p, ok := s.replacing(member); ok {
		return Replacement{}, fmt.Errorf("%w: the member is already being replaced by %s (since %v): commit or abort that replacement first", ErrState, p.Target, p.Started)
	}
	if _, err := a.memberEntry(s, member); err != nil {
		return Replacement{}, err
	}
	taken := map[uint32]bool{}
	for j, m := range s.Members {
		if j != member {
			taken[m.Drive] = true
		}
	}
	for _, p := range s.Replacing {
		taken[p.Target.Drive] = true
	}
	d, err := a.pickTarget(taken, s.Members[member].Drive, s.Layout.memberSize(s.Capacity), only)
	if err != nil {
		return Replacement{}, err
	}
	v, err := a.st.View(a.segTree)
	if err != nil {
		return Replacement{}, err
	}
	defer v.Close()
	e, err := a.lowestFree(v, d)
	if err != nil {
		return Replacement{}, err
	}
	now := a.opts.Now()
	// The target takes the generation of the member it replaces: a data
	// unit's block tags carry it and the stripe's parity covers the tags,
	// so the rebuilt unit must be byte for byte the lost one. (Its
	// segment's earlier uses belonged to other sets, whose ids the tags
	// carry too, so nothing stale can pass for this use.)
	e.Gen = s.Members[member].Gen
	r := Replacement{Set: id, Member: member, Target: Member{Drive: e.Drive, Segment: e.Index, Gen: e.Gen}, Started: now}
	next := s.withReplacement(r)
	e.State, e.Set, e.Live, e.Time = StateRebuilding, id, 0, now
	b.Put(a.setTree, setKey(id), next.encode())
	b.Put(a.segTree, segKey(e.Drive, e.Index), e.encode())
	// The target is reserved and counted now, and the commit runs without
	// opMu: a rebuild of many sets at once is not held up by each one's
	// commit (see countMu).
	a.mu.Lock()
	if d.reserved == nil {
		d.reserved = map[uint32]bool{}
	}
	d.reserved[e.Index] = true
	d.free--
	d.rebuild++
	d.hint = e.Index + 1
	a.mu.Unlock()
	locks.detach()
	_, err = a.st.Commit(ctx, b)
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(d.reserved, e.Index)
	if err != nil {
		d.free++
		d.rebuild--
		d.hint = min(d.hint, e.Index)
		a.markStale()
		return Replacement{}, err
	}
	return r, nil
}

// pickTarget chooses the drive of a replacement's target among those not
// taken by the set, whose segments hold at least need bytes: a spare if
// one can take it, else an online one, else a slow one (weighted by free
// segments, as NewSet weighs them), and only as a last resort own, the
// drive of the member replaced (healthy again, or the member alone was
// lost). Called with opMu held.
func (a *Allocator) pickTarget(taken map[uint32]bool, own uint32, need int64, only *uint32) (*drive, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var (
		spares, others, slow, last []*drive
		ws, wo, wsl, wl            []float64
		why                        []string
		inSet                      int
	)
	for _, d := range a.drives {
		if only != nil && d.Position != *only {
			continue
		}
		if taken[d.Position] {
			inSet++
			continue
		}
		if d.SegmentSize < need {
			why = append(why, fmt.Sprintf("drive %d has segments of %d bytes, the set's members need %d", d.Position, d.SegmentSize, need))
			continue
		}
		w, reason := a.room(d, false, true)
		switch {
		case reason != "":
			why = append(why, fmt.Sprintf("drive %d %s", d.Position, reason))
		case d.Position == own:
			last, wl = append(last, d), append(wl, w)
		case d.Health == Spare:
			spares, ws = append(spares, d), append(ws, w)
		case d.Health == Slow:
			slow, wsl = append(slow, d), append(wsl, w)
		default:
			others, wo = append(others, d), append(wo, w)
		}
	}
	cands, weights := spares, ws
	if len(cands) == 0 {
		cands, weights = others, wo
	}
	if len(cands) == 0 {
		cands, weights = slow, wsl
	}
	if len(cands) == 0 {
		cands, weights = last, wl
	}
	if len(cands) == 0 {
		why = append(why, fmt.Sprintf("%d drives hold the set's other members or pending targets", inSet))
		return nil, fmt.Errorf("%w: no drive can take the target: %s", ErrNoSpace, strings.Join(why, ", "))
	}
	return cands[a.draw(weights, sum(weights))], nil
}

func sum(ws []float64) float64 {
	t := 0.0
	for _, w := range ws {
		t += w
	}
	return t
}

// CommitReplace ends the replacement of member of set id once the caller
// has written the target: in one transaction the target becomes the member
// (with its generation) in the set's state and with its share of the
// set's live bytes, the pending replacement goes, and the old segment is
// freed with its generation incremented, as Release frees them (if its
// drive comes back, its records are stale and the generation says so; the
// caller resets its zone when it can). The set's capacity follows its
// members (it grows if the old member was the smallest). It waits while a
// batch holds the set.
func (a *Allocator) CommitReplace(ctx context.Context, id SetID, member int) error {
	if err := a.endReplace(ctx, id, member, true); err != nil {
		return fmt.Errorf("commit the replacement of member %d of set %d: %w", member, id, err)
	}
	return nil
}

// AbortReplace gives up the replacement of member of set id: the pending
// replacement goes and the target is freed with its generation
// incremented (the caller resets its zone). The member stays as it was.
// It waits while a batch holds the set.
func (a *Allocator) AbortReplace(ctx context.Context, id SetID, member int) error {
	if err := a.endReplace(ctx, id, member, false); err != nil {
		return fmt.Errorf("abort the replacement of member %d of set %d: %w", member, id, err)
	}
	return nil
}

func (a *Allocator) endReplace(ctx context.Context, id SetID, member int, commit bool) error {
	b, s, locks, err := a.own(ctx, id)
	if err != nil {
		return err
	}
	defer locks.done()
	if member < 0 || member >= len(s.Members) {
		return fmt.Errorf("%w: the set has %d members", ErrInvalid, len(s.Members))
	}
	r, ok := s.replacing(member)
	if !ok {
		return fmt.Errorf("%w: the member has no pending replacement", ErrState)
	}
	t, err := a.targetEntry(s, r)
	if err != nil {
		return err
	}
	now := a.opts.Now()
	next := s.withoutReplacement(member)
	var old Segment
	if commit {
		if old, err = a.memberEntry(s, member); err != nil {
			return err
		}
		next.Members = slices.Clone(s.Members)
		next.Members[member] = r.Target
		if c, ok := a.capacityOf(next); ok {
			next.Capacity = c
		}
		t.State, t.Live, t.Time = s.State, s.Layout.share(s.Live), now
		old.State, old.Gen, old.Set, old.Live, old.Time = StateFree, old.Gen+1, 0, 0, now
		b.Put(a.segTree, segKey(old.Drive, old.Index), old.encode())
	} else {
		t.State, t.Gen, t.Set, t.Live, t.Time = StateFree, t.Gen+1, 0, 0, now
	}
	b.Put(a.setTree, setKey(id), next.encode())
	b.Put(a.segTree, segKey(t.Drive, t.Index), t.encode())
	// Nothing chosen here needs opMu past this point: the segments are
	// the set's own, held by its hold, and the counters move by deltas.
	locks.detach()
	if _, err := a.st.Commit(ctx, b); err != nil {
		a.failed()
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	td := a.byPos[t.Drive]
	td.rebuild--
	freed := td
	if commit {
		freed = a.byPos[old.Drive]
		freed.hint = min(freed.hint, old.Index)
		if s.State == StateOpen { // never: an open set is not replaced
			freed.open--
			td.open++
		}
	} else {
		freed.hint = min(freed.hint, t.Index)
	}
	freed.free++
	a.tot.add(s, -1)
	a.tot.add(next, 1)
	return nil
}

// memberEntry reads the segment entry of member i of s and checks that it
// is the set's.
func (a *Allocator) memberEntry(s Set, i int) (Segment, error) {
	m := s.Members[i]
	e, err := a.segment(m.Drive, m.Segment)
	if err != nil {
		return Segment{}, fmt.Errorf("member %d: %w", i, err)
	}
	if e.Set != s.ID || e.Gen != m.Gen || e.State == StateRebuilding {
		return Segment{}, fmt.Errorf("%w: member %d (%s, generation %d) of set %d: the table says %s in set %d, generation %d", ErrCorrupt, i, m, m.Gen, s.ID, e.State, e.Set, e.Gen)
	}
	return e, nil
}

// targetEntry reads the segment entry of a pending replacement's target
// and checks that it is rebuilding in the set.
func (a *Allocator) targetEntry(s Set, r Replacement) (Segment, error) {
	e, err := a.segment(r.Target.Drive, r.Target.Segment)
	if err != nil {
		return Segment{}, fmt.Errorf("target of member %d: %w", r.Member, err)
	}
	if e.State != StateRebuilding || e.Set != s.ID || e.Gen != r.Target.Gen {
		return Segment{}, fmt.Errorf("%w: target %s (generation %d) of member %d of set %d: the table says %s in set %d, generation %d", ErrCorrupt, r.Target, r.Target.Gen, r.Member, s.ID, e.State, e.Set, e.Gen)
	}
	return e, nil
}

// capacityOf is the capacity of s's layout over its members' drives
// (false if one is not in the pool). Called with opMu held.
func (a *Allocator) capacityOf(s Set) (int64, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	smallest := int64(-1)
	for _, m := range s.Members {
		d := a.byPos[m.Drive]
		if d == nil {
			return 0, false
		}
		if smallest < 0 || d.SegmentSize < smallest {
			smallest = d.SegmentSize
		}
	}
	return s.Layout.capacity(smallest), smallest > 0
}

// Replacements iterates over the pending replacements of every set, by
// set id then member, as of the moment iteration starts: what a restarted
// node resumes or aborts. An error ends the iteration (yielded with a zero
// Replacement); so does ctx.
func (a *Allocator) Replacements(ctx context.Context) iter.Seq2[Replacement, error] {
	return func(yield func(Replacement, error) bool) {
		// Only a version 2 entry with a count of replacements has any.
		skip := func(v []byte) bool { return len(v) > 5 && (v[0] == setVersion1 || v[0] == setVersion && v[5] == 0) }
		for s, err := range a.scanSets(ctx, skip) {
			if err != nil {
				yield(Replacement{}, fmt.Errorf("list replacements: %w", err))
				return
			}
			for _, r := range s.Replacing {
				if !yield(r, nil) {
					return
				}
			}
		}
	}
}

// SetsOn returns the sets with a member on drive pos, those that lost the
// most members first: a member is lost when its drive is faulty or out,
// and a rebuild takes the most endangered sets first. Ties go to the lower
// id. Sets with a pending replacement targeting the drive are listed too
// (by the same count of their members): if the drive failed, those
// replacements must be aborted and begun again elsewhere. The result is
// consistent with one moment of the trees.
func (a *Allocator) SetsOn(ctx context.Context, pos uint32) ([]SetID, error) {
	ids, err := a.setsOn(ctx, pos)
	if err != nil {
		return nil, fmt.Errorf("sets on drive %d: %w", pos, err)
	}
	return ids, nil
}

func (a *Allocator) setsOn(ctx context.Context, pos uint32) ([]SetID, error) {
	a.mu.Lock()
	_, err := a.drive(pos)
	lost := make(map[uint32]bool, len(a.drives))
	for _, d := range a.drives {
		lost[d.Position] = d.Health == Faulty || d.Health == Out
	}
	a.mu.Unlock()
	if err != nil {
		return nil, err
	}
	v, err := a.st.View(a.segTree, a.setTree)
	if err != nil {
		return nil, err
	}
	defer v.Close()
	it, err := v.Iter(a.segTree)
	if err != nil {
		return nil, err
	}
	seen := map[SetID]bool{}
	var ids []SetID
	for ok := it.Seek(segKey(pos, 0)); ok; ok = it.Next() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		e, err := decodeSegment(it.Key(), it.Value())
		if err != nil {
			return nil, err
		}
		if e.Drive != pos {
			break
		}
		if e.Set != 0 && !seen[e.Set] {
			seen[e.Set] = true
			ids = append(ids, e.Set)
		}
	}
	if err := it.Err(); err != nil {
		return nil, err
	}
	type loss struct {
		id   SetID
		lost int
	}
	ls := make([]loss, 0, len(ids))
	for _, id := range ids {
		val, ok, err := v.Get(a.setTree, setKey(id))
		switch {
		case err != nil:
			return nil, fmt.Errorf("read set %d: %w", id, err)
		case !ok:
			return nil, fmt.Errorf("%w: a segment of drive %d is in set %d, which does not exist", ErrCorrupt, pos, id)
		}
		s, err := decodeSet(setKey(id), val)
		if err != nil {
			return nil, err
		}
		n := 0
		for _, m := range s.Members {
			if lost[m.Drive] {
				n++
			}
		}
		ls = append(ls, loss{id, n})
	}
	slices.SortFunc(ls, func(x, y loss) int {
		if c := cmp.Compare(y.lost, x.lost); c != 0 {
			return c
		}
		return cmp.Compare(x.id, y.id)
	})
	out := make([]SetID, len(ls))
	for i, l := range ls {
		out[i] = l.id
	}
	return out, nil
}
