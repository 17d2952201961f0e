package btree

// The write path. A change descends from the root to the leaf, reading
// nodes on the media as it goes, and comes back up building the new nodes
// of the path (never modifying one: snapshots may be reading it). On the
// way up every node is kept within its bounds:
//
//   - one larger than SplitSize splits into two of about equal encoded
//     size (each then at least (SplitSize - the largest entry)/2, well
//     above minSize);
//   - one below minSize (a quarter of SplitSize), the root apart, is
//     joined with a sibling: merged if the two fit in SplitSize, else
//     shared evenly. Puts can shrink nodes too (a smaller value, a shorter
//     separator), so both run for both kinds of change;
//   - a leaf that loses its last entry goes, without a read of its
//     sibling; an internal root with one child gives way to the child;
//     pieces that replace the root get a new root above them.
//
// So a node is never more than a couple of entries over SplitSize before
// it splits, far below MaxNode, and Check can hold every node below the
// root to [minSize, SplitSize].
//
// Every node on the media that a change replaces or removes (the nodes of
// its path, a sibling merged or shared with, the old root) is recorded in
// Tree.freed once the change is published: those are the nodes a
// checkpoint no longer references (see Written.Freed). A node is on the
// media in one place of the current tree only, and a writer can reach it
// only there, so it is recorded once.

import (
	"bytes"
	"fmt"
)

// op is one change: a put of key and value, or a delete of key.
type op struct {
	key, value []byte
	del        bool
	existed    bool // set by apply: the key was in the tree
}

// writer is the state of one change, under Tree.mu: the counts it updates
// on its way, and the nodes on the media it supersedes (they join
// Tree.freed only if the change is published).
type writer struct {
	t     *Tree
	stats Stats
	freed []Ptr
}

// free records that the node on the media p points at is replaced by a
// node built in memory, or removed: the change no longer references it.
func (w *writer) free(p Ptr) { w.freed = append(w.freed, p) }

// nodes counts delta nodes created (or, negative, dropped) at level.
func (w *writer) nodes(level uint8, delta int) {
	if level == 0 {
		w.stats.Leaves = uint64(int64(w.stats.Leaves) + int64(delta))
	} else {
		w.stats.Internal = uint64(int64(w.stats.Internal) + int64(delta))
	}
}

func (w *writer) entries(delta, bytes int) {
	w.stats.Entries = uint64(int64(w.stats.Entries) + int64(delta))
	w.stats.Bytes = uint64(int64(w.stats.Bytes) + int64(bytes))
}

// update applies o and publishes the new root. Nothing is published, and
// the tree is unchanged, if o changes nothing or fails.
func (t *Tree) update(o *op) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.snap.Load()
	w := &writer{t: t, stats: s.stats}
	var out []piece
	if s.stats.Height == 0 {
		if o.del {
			return nil
		}
		out = []piece{{n: newLeaf([]Entry{{Key: o.key, Value: o.value}})}}
		w.nodes(0, 1)
		w.entries(1, len(o.key)+len(o.value))
	} else {
		root, err := s.rootNode()
		if err != nil {
			return err
		}
		var changed bool
		out, changed, err = w.apply(root, o)
		if err != nil || !changed {
			return err
		}
		if s.root == nil {
			w.free(s.ptr) // a change always rebuilds the root
		}
		w.nodes(root.level, len(out)-1)
	}
	ns, err := w.snapshot(out)
	if err != nil {
		return err
	}
	t.snap.Store(ns)
	t.freed = append(t.freed, w.freed...)
	return nil
}

// snapshot makes the pieces that replace the root into a snapshot: adding
// levels above them while there are several, removing internal roots with
// a single child.
func (w *writer) snapshot(out []piece) (*Snapshot, error) {
	for len(out) > 1 {
		level := out[0].n.level
		if int(level)+1 >= maxHeight {
			return nil, fmt.Errorf("b-tree taller than %d levels", maxHeight)
		}
		children := make([]Child, len(out))
		mem := make([]*mnode, len(out))
		for j, p := range out {
			children[j] = Child{Key: p.sep}
			mem[j] = p.n
		}
		children[0].Key = nil
		out = split(newInternal(level+1, children, mem))
		w.nodes(level+1, len(out))
	}
	if len(out) == 0 {
		w.stats.Height = 0
		return &Snapshot{t: w.t, stats: w.stats}, nil
	}
	r := out[0].n
	for r.level > 0 && len(r.children) == 1 {
		w.nodes(r.level, -1)
		if r.mem == nil || r.mem[0] == nil {
			// The only child is on the media: it becomes the root
			// without being read.
			w.stats.Height = int(r.level)
			return &Snapshot{t: w.t, ptr: r.children[0].Ptr, stats: w.stats}, nil
		}
		r = r.mem[0]
	}
	w.stats.Height = int(r.level) + 1
	return &Snapshot{t: w.t, root: r, stats: w.stats}, nil
}

// apply applies o to the subtree rooted at n and returns the nodes that
// replace n: usually one; several after a split; none when the subtree
// lost its last entry. changed is false when o changes nothing (a delete
// of a missing key, a put of the value the key has): then n stays.
func (w *writer) apply(n *mnode, o *op) (out []piece, changed bool, err error) {
	if n.level == 0 {
		return w.applyLeaf(n, o)
	}
	i := childIndex(w.t.cmp, n.children, o.key)
	c, err := w.t.child(n, i)
	if err != nil {
		return nil, false, err
	}
	sub, changed, err := w.apply(c, o)
	if err != nil || !changed {
		return nil, changed, err
	}
	if n.mem == nil || n.mem[i] == nil {
		w.free(n.children[i].Ptr) // sub replaces it: new nodes, or none
	}
	w.nodes(n.level-1, len(sub)-1)
	children, mem := splice(n.children, n.mem, i, i+1, sub)
	children, mem, err = w.rebalance(n.level-1, children, mem, i, len(sub))
	if err != nil {
		return nil, false, err
	}
	if len(children) == 0 {
		return nil, true, nil
	}
	return split(newInternal(n.level, children, mem)), true, nil
}

func (w *writer) applyLeaf(n *mnode, o *op) ([]piece, bool, error) {
	i, found := leafIndex(w.t.cmp, n.entries, o.key)
	o.existed = found
	var entries []Entry
	switch {
	case o.del && !found:
		return nil, false, nil
	case o.del:
		old := n.entries[i]
		w.entries(-1, -len(old.Key)-len(old.Value))
		if len(n.entries) == 1 {
			return nil, true, nil // the leaf goes: the parent drops it
		}
		entries = make([]Entry, 0, len(n.entries)-1)
		entries = append(entries, n.entries[:i]...)
		entries = append(entries, n.entries[i+1:]...)
	case found:
		old := n.entries[i]
		if bytes.Equal(old.Value, o.value) {
			// Nothing to do, and not dirtying the path keeps
			// replayed puts cheap.
			return nil, false, nil
		}
		w.entries(0, len(o.value)-len(old.Value))
		entries = clone(n.entries)
		entries[i].Value = o.value
	default:
		w.entries(1, len(o.key)+len(o.value))
		entries = make([]Entry, 0, len(n.entries)+1)
		entries = append(entries, n.entries[:i]...)
		entries = append(entries, Entry{Key: o.key, Value: o.value})
		entries = append(entries, n.entries[i:]...)
	}
	return split(newLeaf(entries)), true, nil
}

// rebalance fixes the k nodes just put at children[a:a+k] (level level)
// that fell below minSize: each is joined with a sibling, the result split
// again if too large — a merge when the two fit in one node, an even share
// of their entries otherwise. Only these nodes can be small: every other
// one was balanced when it was built. A lone child is left alone: its
// parent is then small itself, and the grandparent rebalances it (or, at
// the root, the root goes).
func (w *writer) rebalance(level uint8, children []Child, mem []*mnode, a, k int) ([]Child, []*mnode, error) {
	for p := a + k - 1; p >= a; p-- {
		if p >= len(children) || len(children) < 2 || mem[p] == nil || mem[p].size >= minSize {
			continue
		}
		// A sibling in memory costs no read; otherwise the left one.
		s := p - 1
		if p == 0 || (mem[p-1] == nil && p+1 < len(children) && mem[p+1] != nil) {
			s = p + 1
		}
		l, r := min(p, s), max(p, s)
		ln, err := w.nodeAt(children, mem, l, level)
		if err != nil {
			return nil, nil, err
		}
		rn, err := w.nodeAt(children, mem, r, level)
		if err != nil {
			return nil, nil, err
		}
		// Both go, for the pieces of their join.
		for _, j := range [2]int{l, r} {
			if mem[j] == nil {
				w.free(children[j].Ptr)
			}
		}
		pieces := split(join(ln, rn, children[r].Key))
		w.nodes(level, len(pieces)-2)
		children, mem = splice(children, mem, l, r+1, pieces)
	}
	return children, mem, nil
}

func (w *writer) nodeAt(children []Child, mem []*mnode, i int, level uint8) (*mnode, error) {
	if mem[i] != nil {
		return mem[i], nil
	}
	return w.t.load(children[i].Ptr, level)
}
