package store

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/plinth-storage/plinth/btree"
)

// ErrBadCopy: one mirror's copy of a node or of the checkpoint record is
// unreadable or damaged. Reads go around it while another mirror's copy
// verifies; the mirror has lost that redundancy.
var ErrBadCopy = errors.New("damaged metadata copy")

// CatalogueTree names the catalogue in Problems.
const CatalogueTree = "(catalogue)"

// Problem is one thing Inspect found wrong.
type Problem struct {
	// Tree is the tree concerned (CatalogueTree for the catalogue); ""
	// when the problem is not a tree's.
	Tree string
	// Mirror names the mirror whose copy is damaged; "" when the
	// problem is not one copy's (a tree that fails its check whichever
	// copy is read, the live-byte accounting).
	Mirror string
	// Segment is the metadata segment concerned (-1: none) and Offset
	// the byte offset in it of the first damaged record (-1: none).
	Segment int
	Offset  int64
	// Count is how many node copies a damaged-copy problem stands for:
	// they are reported once per tree, mirror and segment.
	Count int
	Err   error
}

func (p Problem) String() string {
	s := ""
	if p.Tree != "" {
		s += fmt.Sprintf("tree %q: ", p.Tree)
	}
	if p.Mirror != "" {
		s += fmt.Sprintf("mirror %s: ", p.Mirror)
	}
	if p.Segment >= 0 {
		s += fmt.Sprintf("metadata segment %d", p.Segment)
		if p.Offset >= 0 {
			s += fmt.Sprintf(" offset %d", p.Offset)
		}
		s += ": "
	}
	return s + p.Err.Error()
}

// Inspect verifies what Check verifies — every tree of the last
// checkpoint read from the media (btree Check), the catalogue, the
// live-byte count of every metadata segment, the segment states, the
// trees in memory — and reports each problem on its own, naming the tree.
// It also reads every copy of every node of the checkpoint, and of the
// checkpoint record, on every healthy mirror: a copy that cannot be read,
// or is not the node its pointer names, is an ErrBadCopy problem of its
// mirror and segment even though reads go around it. Damaged node copies
// are reported once per tree, mirror and segment, with their count and
// the first offset. progress, when set, is called after each node with
// the nodes done and the total the catalogue counts. Checkpoints wait
// while it runs. The error is nil unless the problems could not be
// reported at all.
func (s *Store) Inspect(progress func(done, total int64), report func(Problem)) error {
	if report == nil {
		return errors.New("inspect: no function to report problems to")
	}
	s.ckptMu.Lock()
	defer s.ckptMu.Unlock()
	s.sp.mu.Lock()
	table := slices.Clone(s.sp.table)
	var mirrors []*mirror
	for _, m := range s.sp.mirrors {
		if m.healthy {
			mirrors = append(mirrors, m)
		}
	}
	s.sp.mu.Unlock()
	in := &inspector{s: s, report: report, progress: progress, mirrors: mirrors,
		live: make([]uint64, len(table)), seen: map[btree.Addr]string{}, copies: map[copyKey]*Problem{}, failed: map[string]bool{}}
	in.record()
	cat, err := btree.Open(catalogueID, nil, s.cache, s.lastCatRoot)
	if err != nil {
		report(Problem{Tree: CatalogueTree, Segment: -1, Offset: -1, Err: fmt.Errorf("checkpoint %d: %w", s.lastGen, err)})
		in.flushCopies()
		return nil
	}
	trees := []namedTree{{CatalogueTree, cat}}
	in.total = nodes(s.lastCatRoot.Stats)
	it := cat.Iter()
	for ok := it.First(); ok; ok = it.Next() {
		name := string(it.Key())
		ti, err := decodeTreeInfo(it.Value())
		if err == nil {
			var t *btree.Tree
			if t, err = s.openTree(ti); err == nil {
				trees = append(trees, namedTree{name, t})
				in.total += nodes(ti.Root.Stats)
				continue
			}
		}
		in.walkFailed = true
		report(Problem{Tree: name, Segment: -1, Offset: -1, Err: fmt.Errorf("catalogue entry of checkpoint %d: %w", s.lastGen, err)})
	}
	if err := it.Err(); err != nil {
		in.walkFailed = true
		report(Problem{Tree: CatalogueTree, Segment: -1, Offset: -1, Err: fmt.Errorf("checkpoint %d: %w", s.lastGen, err)})
	}
	for _, t := range trees {
		in.tree(t)
	}
	in.flushCopies()
	in.accounting(table)
	in.memory()
	return nil
}

type namedTree struct {
	name string
	t    *btree.Tree
}

func nodes(st btree.Stats) int64 { return int64(st.Leaves + st.Internal) }

// copyKey groups damaged node copies.
type copyKey struct {
	tree, mirror string
	segment      uint32
}

type inspector struct {
	s          *Store
	report     func(Problem)
	progress   func(done, total int64)
	mirrors    []*mirror
	live       []uint64
	seen       map[btree.Addr]string
	copies     map[copyKey]*Problem
	done       int64
	total      int64
	walkFailed bool            // some tree was not walked whole: live bytes cannot be compared
	failed     map[string]bool // trees whose checkpoint check failed
}

// record reads the checkpoint record's copy on every mirror.
func (in *inspector) record() {
	s := in.s
	a := s.lastRecord
	var sum uint64
	for _, m := range s.sp.mirrors {
		if c := m.label.Label().Checkpoint; c.Gen == s.lastGen {
			sum = c.Sum
		}
	}
	for _, m := range in.mirrors {
		b, err := readAt(m.segs[a.Set], int64(a.Off), int(a.Len))
		if err == nil {
			_, err = decodeRecord(b, sum)
		}
		if err != nil {
			in.report(Problem{Mirror: m.name, Segment: int(a.Set), Offset: int64(a.Off), Count: 1,
				Err: fmt.Errorf("%w: the record of checkpoint %d: %w", ErrBadCopy, s.lastGen, err)})
		}
	}
}

// tree checks one tree of the checkpoint and walks it: live bytes, nodes
// reached twice, every mirror's copy of every node.
func (in *inspector) tree(nt namedTree) {
	snap := nt.t.Snapshot()
	checkErr := snap.Check()
	if checkErr != nil {
		in.failed[nt.name] = true
		in.report(Problem{Tree: nt.name, Segment: -1, Offset: -1, Err: fmt.Errorf("checkpoint %d: %w", in.s.lastGen, checkErr)})
	}
	err := snap.Walk(func(p btree.Ptr, _ uint8) error {
		in.node(nt.name, p)
		return nil
	})
	if err != nil {
		in.walkFailed = true
		if checkErr == nil {
			in.report(Problem{Tree: nt.name, Segment: -1, Offset: -1, Err: fmt.Errorf("checkpoint %d: %w", in.s.lastGen, err)})
		}
	}
}

// node counts one node of tree and verifies each mirror's copy of it.
func (in *inspector) node(tree string, p btree.Ptr) {
	if int(p.Addr.Set) >= len(in.live) {
		in.report(Problem{Tree: tree, Segment: int(p.Addr.Set), Offset: int64(p.Addr.Off),
			Err: fmt.Errorf("%w: a node at metadata segment %d, beyond the %d segments", btree.ErrInconsistent, p.Addr.Set, len(in.live))})
		return
	}
	if other, dup := in.seen[p.Addr]; dup {
		in.report(Problem{Tree: tree, Segment: int(p.Addr.Set), Offset: int64(p.Addr.Off),
			Err: fmt.Errorf("%w: the node is also reached from tree %q", btree.ErrInconsistent, other)})
	}
	in.seen[p.Addr] = tree
	in.live[p.Addr.Set] += uint64(p.Addr.Len)
	for _, m := range in.mirrors {
		b, err := readAt(m.segs[p.Addr.Set], int64(p.Addr.Off), int(p.Addr.Len))
		if err == nil && !btree.Verify(b, p.Sum) {
			err = fmt.Errorf("%w: not the node its parent names (checksum %#016x)", btree.ErrCorrupt, p.Sum)
		}
		if err == nil {
			continue
		}
		k := copyKey{tree, m.name, p.Addr.Set}
		if c := in.copies[k]; c != nil {
			c.Count++
			continue
		}
		in.copies[k] = &Problem{Tree: tree, Mirror: m.name, Segment: int(p.Addr.Set), Offset: int64(p.Addr.Off), Count: 1,
			Err: fmt.Errorf("%w: node of %d bytes: %w", ErrBadCopy, p.Addr.Len, err)}
	}
	in.done++
	if in.progress != nil {
		in.progress(in.done, max(in.total, in.done))
	}
}

// flushCopies reports the damaged copies, by mirror, segment and tree.
func (in *inspector) flushCopies() {
	ps := make([]*Problem, 0, len(in.copies))
	for _, p := range in.copies {
		ps = append(ps, p)
	}
	slices.SortFunc(ps, func(a, b *Problem) int {
		return cmp.Or(cmp.Compare(a.Mirror, b.Mirror), cmp.Compare(a.Segment, b.Segment), cmp.Compare(a.Tree, b.Tree))
	})
	for _, p := range ps {
		if p.Count > 1 {
			p.Err = fmt.Errorf("%d node copies, the first: %w", p.Count, p.Err)
		}
		in.report(*p)
	}
}

// accounting compares the segment table of the checkpoint with what its
// trees and record reach.
func (in *inspector) accounting(table []segInfo) {
	s := in.s
	if s.lastRecord.Len > 0 && int(s.lastRecord.Set) < len(in.live) {
		in.live[s.lastRecord.Set] += uint64(s.lastRecord.Len)
	}
	open := 0
	for i, t := range table {
		bad := func(format string, args ...any) {
			in.report(Problem{Segment: i, Offset: -1, Err: fmt.Errorf("%w: "+format, append([]any{btree.ErrInconsistent}, args...)...)})
		}
		if !in.walkFailed && t.Live != in.live[i] {
			bad("the checkpoint counts %d live bytes; its trees and record reach %d", t.Live, in.live[i])
		}
		if t.State == segFree && t.Live != 0 {
			bad("free with %d live bytes", t.Live)
		}
		if t.State == segOpen {
			open++
		}
	}
	if open > 1 {
		in.report(Problem{Segment: -1, Offset: -1, Err: fmt.Errorf("%w: %d metadata segments are open; at most one may be", btree.ErrInconsistent, open)})
	}
}

// memory checks the trees in memory: the checkpoint's with the journal
// replayed (or committed) after it. A tree whose checkpoint failed its
// check is not checked again: its nodes on the media are the same.
func (in *inspector) memory() {
	s := in.s
	s.applyMu.RLock()
	names := make([]string, 0, len(s.trees))
	for name := range s.trees {
		if !in.failed[name] {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	snaps := make([]*btree.Snapshot, len(names))
	for i, name := range names {
		snaps[i] = s.trees[name].tree.Snapshot()
	}
	s.pin(s.readGen)
	gen := s.readGen
	s.applyMu.RUnlock()
	defer s.unpin(gen)
	for i, sn := range snaps {
		if err := sn.Check(); err != nil {
			in.report(Problem{Tree: names[i], Segment: -1, Offset: -1, Err: fmt.Errorf("in memory, after the journal: %w", err)})
		}
	}
}
