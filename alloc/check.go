package alloc

import (
	"context"
	"errors"
	"fmt"

	"github.com/plinth-storage/plinth/btree/store"
)

// maxProblems bounds the problems Check reports.
const maxProblems = 50

// Check verifies the allocator's trees against each other, the pool and
// the counters: every data segment of every drive has an entry and no
// other segment has one; a free segment has set id 0 and no live bytes; a
// segment in a set is listed by that set, with its generation, in the
// set's state, holding its share of the set's live bytes (so no segment
// is in two sets); a rebuilding segment is the target of exactly one
// pending replacement of its set, with its generation and no live bytes
// (its share comes at commit); a set's members and pending targets are
// all on distinct drives of the pool, and an open set has no pending
// replacement;
// live <= frontier <= capacity, and the capacity is the layout's; a
// sealed time exactly when not open; set ids below the next id; and the
// per-drive counters (and, when no batch holds sets, the totals) equal
// what the trees say. Every problem names the set or segment; the error
// wraps ErrCorrupt. Memory does not grow with the trees: cross-references
// are read from the store.
func (a *Allocator) Check(ctx context.Context) error {
	a.opMu.Lock()
	defer a.opMu.Unlock()
	if err := a.refresh(); err != nil {
		return fmt.Errorf("check allocator: %w", err)
	}
	// The counters and the view are taken at one instant: own transactions
	// wait on opMu (a detached one's commit and counters hold countMu), and
	// a staged batch changes the totals only in Done.
	a.countMu.Lock()
	defer a.countMu.Unlock()
	a.mu.Lock()
	v, err := a.st.View(a.segTree, a.setTree, a.metaTree)
	if err != nil {
		a.mu.Unlock()
		return fmt.Errorf("check allocator: %w", err)
	}
	defer v.Close()
	c := &checker{a: a, v: v, free: map[uint32]int{}, open: map[uint32]int{}, openSets: map[uint32]int{},
		rebuild: map[uint32]int{}, targets: map[uint32]int{}}
	c.quiet = len(a.holds) == 0
	c.tot = a.tot
	for _, d := range a.drives {
		c.want = append(c.want, driveCount{pos: d.Position, free: d.free, open: d.open, rebuild: d.rebuild})
	}
	a.mu.Unlock()

	c.meta()
	if err := c.segments(ctx); err != nil {
		return fmt.Errorf("check allocator: %w", err)
	}
	if err := c.sets(ctx); err != nil {
		return fmt.Errorf("check allocator: %w", err)
	}
	c.counters()
	if len(c.problems) == 0 {
		return nil
	}
	if c.dropped > 0 {
		c.problems = append(c.problems, fmt.Errorf("%w: and %d more problems", ErrCorrupt, c.dropped))
	}
	return fmt.Errorf("check allocator: %w", errors.Join(c.problems...))
}

type driveCount struct {
	pos                 uint32
	free, open, rebuild int
}

type checker struct {
	a        *Allocator
	v        *store.View
	quiet    bool // no batch held sets: the totals must match
	tot      totals
	want     []driveCount
	next     SetID
	free     map[uint32]int // by drive, from the segment table
	open     map[uint32]int // open segments by drive
	openSets map[uint32]int // open sets with a member, by drive, from the sets
	rebuild  map[uint32]int // rebuilding segments by drive
	targets  map[uint32]int // pending targets by drive, from the sets
	sum      totals
	problems []error
	dropped  int
}

func (c *checker) fail(format string, a ...any) {
	if len(c.problems) >= maxProblems {
		c.dropped++
		return
	}
	c.problems = append(c.problems, fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, a...)))
}

// failErr records an error that already says what is wrong (a decoder's).
func (c *checker) failErr(err error) {
	if len(c.problems) >= maxProblems {
		c.dropped++
		return
	}
	c.problems = append(c.problems, err)
}

func (c *checker) meta() {
	val, ok, err := c.v.Get(c.a.metaTree, metaKey)
	switch {
	case err != nil:
		c.fail("allocator record: %v", err)
		return
	case !ok:
		c.fail("no allocator record")
		return
	}
	r, err := decodeMeta(val)
	if err != nil {
		c.failErr(err)
		return
	}
	c.next = r.NextSet
}

// segments walks the segment table.
func (c *checker) segments(ctx context.Context) error {
	it, err := c.v.Iter(c.a.segTree)
	if err != nil {
		return err
	}
	// The data segments each drive must have, walked in step with the table.
	type cursor struct {
		next uint32
		more bool
	}
	cur := map[uint32]*cursor{}
	for _, d := range c.a.drives {
		n, ok := d.nextData(0)
		cur[d.Position] = &cursor{n, ok}
	}
	missing := func(d *drive, cu *cursor, before uint64) {
		for cu.more && uint64(cu.next) < before {
			c.fail("segment %d of drive %d has no entry", cu.next, d.Position)
			n, ok := d.nextData(cu.next + 1)
			cu.next, cu.more = n, ok && cu.next != ^uint32(0)
		}
	}
	for ok := it.First(); ok; ok = it.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		drive, index, err := decodeSegKey(it.Key())
		if err != nil {
			c.failErr(err)
			continue
		}
		e := Segment{Drive: drive, Index: index} // for the messages until decoded
		d := c.a.byPos[e.Drive]
		switch {
		case d == nil:
			c.fail("%s: the drive is not in the pool", e)
			continue
		case e.Index >= d.Segments:
			c.fail("%s: the drive has %d segments", e, d.Segments)
			continue
		case d.isMeta(e.Index):
			c.fail("%s: in the drive's metadata ranges %+v", e, d.Meta)
			continue
		}
		cu := cur[e.Drive]
		missing(d, cu, uint64(e.Index))
		if cu.more && cu.next == e.Index {
			n, ok := d.nextData(e.Index + 1)
			cu.next, cu.more = n, ok && e.Index != ^uint32(0)
		}
		if e, err = decodeSegment(it.Key(), it.Value()); err != nil {
			c.failErr(err)
			continue
		}
		c.segment(e)
	}
	if err := it.Err(); err != nil {
		return err
	}
	for _, d := range c.a.drives {
		missing(d, cur[d.Position], uint64(d.Segments))
	}
	return nil
}

// segment checks one entry against its set.
func (c *checker) segment(e Segment) {
	if e.State == StateFree {
		c.free[e.Drive]++
		if e.Set != 0 || e.Live != 0 {
			c.fail("%s: free, but in set %d with %d live bytes", e, e.Set, e.Live)
		}
		return
	}
	switch e.State {
	case StateOpen:
		c.open[e.Drive]++
	case StateRebuilding:
		c.rebuild[e.Drive]++
	}
	if e.Set == 0 {
		c.fail("%s: %s, but in no set", e, e.State)
		return
	}
	s, problem := c.set(e.Set)
	if problem != "" {
		c.fail("%s: %s in set %d, %s", e, e.State, e.Set, problem)
		return
	}
	for i, m := range s.Members {
		if m.Drive == e.Drive && m.Segment == e.Index {
			switch {
			case e.State == StateRebuilding:
				c.fail("%s: rebuilding, but it is member %d of set %d", e, i, s.ID)
			case m.Gen != e.Gen:
				c.fail("%s: generation %d, but set %d has it at generation %d", e, e.Gen, s.ID, m.Gen)
			case e.State != s.State:
				c.fail("%s: %s, but its set %d is %s", e, e.State, s.ID, s.State)
			case e.Live != s.Layout.share(s.Live):
				c.fail("%s: %d live bytes, but its share of set %d's %d is %d", e, e.Live, s.ID, s.Live, s.Layout.share(s.Live))
			}
			return
		}
	}
	for _, r := range s.Replacing {
		if r.Target.Drive == e.Drive && r.Target.Segment == e.Index {
			switch {
			case e.State != StateRebuilding:
				c.fail("%s: %s, but it is the pending target of member %d of set %d", e, e.State, r.Member, s.ID)
			case r.Target.Gen != e.Gen:
				c.fail("%s: generation %d, but set %d has it as the target of member %d at generation %d", e, e.Gen, s.ID, r.Member, r.Target.Gen)
			case e.Live != 0:
				c.fail("%s: rebuilding with %d live bytes (a target has none until its replacement commits)", e, e.Live)
			}
			return
		}
	}
	if e.State == StateRebuilding {
		c.fail("%s: rebuilding in set %d, which has no pending replacement onto it", e, s.ID)
		return
	}
	c.fail("%s: in set %d, which does not list it", e, s.ID)
}

// set reads a set for a cross-reference, or says why it cannot.
func (c *checker) set(id SetID) (Set, string) {
	val, ok, err := c.v.Get(c.a.setTree, setKey(id))
	switch {
	case err != nil:
		return Set{}, fmt.Sprintf("which cannot be read (%v)", err)
	case !ok:
		return Set{}, "which does not exist"
	}
	s, err := decodeSet(setKey(id), val)
	if err != nil {
		return Set{}, "whose entry is corrupt"
	}
	return s, ""
}

// sets walks the set table.
func (c *checker) sets(ctx context.Context) error {
	it, err := c.v.Iter(c.a.setTree)
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		s, err := decodeSet(it.Key(), it.Value())
		if err != nil {
			c.failErr(err)
			continue
		}
		c.sum.add(s, 1)
		c.oneSet(s)
	}
	return it.Err()
}

func (c *checker) oneSet(s Set) {
	if c.next != 0 && s.ID >= c.next {
		c.fail("%s: the next set id is %d", s, c.next)
	}
	switch {
	case s.Live > s.Frontier:
		c.fail("%s: %d live bytes beyond its frontier %d", s, s.Live, s.Frontier)
	case s.Frontier > s.Capacity:
		c.fail("%s: frontier %d beyond its capacity %d", s, s.Frontier, s.Capacity)
	}
	if (s.State == StateOpen) != s.Sealed.IsZero() {
		c.fail("%s: %s with sealed time %v", s, s.State, s.Sealed)
	}
	drives := make(map[uint32]int, len(s.Members))
	smallest := int64(-1)
	for i, m := range s.Members {
		if j, dup := drives[m.Drive]; dup {
			c.fail("%s: members %d and %d are both on drive %d", s, j, i, m.Drive)
		}
		drives[m.Drive] = i
		d := c.a.byPos[m.Drive]
		if d == nil {
			c.fail("%s: member %d (%s) is on a drive not in the pool", s, i, m)
			continue
		}
		if smallest < 0 || d.SegmentSize < smallest {
			smallest = d.SegmentSize
		}
		if s.State == StateOpen {
			c.openSets[m.Drive]++
		}
		k := segKey(m.Drive, m.Segment)
		val, ok, err := c.v.Get(c.a.segTree, k)
		if err != nil || !ok {
			c.fail("%s: member %d (%s) has no segment entry", s, i, m)
			continue
		}
		e, err := decodeSegment(k, val)
		if err != nil {
			continue // reported by the walk of the segments
		}
		if e.Set != s.ID {
			c.fail("%s: member %d (%s) belongs to set %d", s, i, m, e.Set)
		}
	}
	if smallest > 0 && len(drives) == len(s.Members) && s.Capacity != s.Layout.capacity(smallest) {
		c.fail("%s: capacity %d, but %s members of %d bytes hold %d", s, s.Capacity, s.Layout, smallest, s.Layout.capacity(smallest))
	}
	c.replacements(s, drives)
}

// replacements checks a set's pending replacements; drives are its
// members' drives.
func (c *checker) replacements(s Set, drives map[uint32]int) {
	if len(s.Replacing) > 0 && s.State == StateOpen {
		c.fail("%s: open with %d pending replacements", s, len(s.Replacing))
	}
	targets := map[uint32]int{} // drive: member whose target is there
	for _, r := range s.Replacing {
		t := r.Target
		if j, ok := drives[t.Drive]; ok && j != r.Member {
			c.fail("%s: the target of member %d (%s) is on drive %d, which holds member %d", s, r.Member, t, t.Drive, j)
		}
		if j, ok := targets[t.Drive]; ok {
			c.fail("%s: the targets of members %d and %d are both on drive %d", s, j, r.Member, t.Drive)
		}
		targets[t.Drive] = r.Member
		if m := s.Members[r.Member]; m.Drive == t.Drive && m.Segment == t.Segment {
			c.fail("%s: member %d (%s) is its own replacement's target", s, r.Member, m)
		}
		d := c.a.byPos[t.Drive]
		if d == nil {
			c.fail("%s: the target of member %d (%s) is on a drive not in the pool", s, r.Member, t)
			continue
		}
		c.targets[t.Drive]++
		if need := s.Layout.memberSize(s.Capacity); d.SegmentSize < need {
			c.fail("%s: the target of member %d (%s) holds %d bytes, its members need %d", s, r.Member, t, d.SegmentSize, need)
		}
		k := segKey(t.Drive, t.Segment)
		val, ok, err := c.v.Get(c.a.segTree, k)
		if err != nil || !ok {
			c.fail("%s: the target of member %d (%s) has no segment entry", s, r.Member, t)
			continue
		}
		e, err := decodeSegment(k, val)
		if err != nil {
			continue // reported by the walk of the segments
		}
		if e.Set != s.ID {
			c.fail("%s: the target of member %d (%s) belongs to set %d", s, r.Member, t, e.Set)
		}
	}
}

// counters compares the counters with what the walks found.
func (c *checker) counters() {
	for _, w := range c.want {
		if f := c.free[w.pos]; f != w.free {
			c.fail("drive %d: the allocator counts %d free segments, the table has %d", w.pos, w.free, f)
		}
		if o := c.open[w.pos]; o != w.open {
			c.fail("drive %d: the allocator counts %d open sets, the table has %d open segments", w.pos, w.open, o)
		}
		if o := c.openSets[w.pos]; o != c.open[w.pos] {
			c.fail("drive %d: %d open sets have a member on it, but it has %d open segments", w.pos, o, c.open[w.pos])
		}
		if n := c.rebuild[w.pos]; n != w.rebuild {
			c.fail("drive %d: the allocator counts %d rebuild targets, the table has %d rebuilding segments", w.pos, w.rebuild, n)
		}
		if n := c.targets[w.pos]; n != c.rebuild[w.pos] {
			c.fail("drive %d: %d pending replacements target it, but it has %d rebuilding segments", w.pos, n, c.rebuild[w.pos])
		}
	}
	if !c.quiet {
		return
	}
	for _, st := range []State{StateOpen, StateSealed, StateCleaning} {
		for _, f := range []struct {
			name       string
			have, want int64
		}{
			{"sets", c.tot.sets[st], c.sum.sets[st]},
			{"live bytes", c.tot.live[st], c.sum.live[st]},
			{"frontier bytes", c.tot.frontier[st], c.sum.frontier[st]},
			{"capacity bytes", c.tot.capacity[st], c.sum.capacity[st]},
		} {
			if f.have != f.want {
				c.fail("the allocator's totals count %d %s in %s sets, the sets hold %d", f.have, f.name, st, f.want)
			}
		}
	}
}
