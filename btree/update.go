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
	"sort"
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

// update applies ops (sorted by key, one per key: see Apply) and
// publishes the new root once. Nothing is published, and the tree is
// unchanged, if they change nothing or fail.
func (t *Tree) update(ops []*op) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.snap.Load()
	w := &writer{t: t, stats: s.stats}
	var out []piece
	if s.stats.Height == 0 {
		var entries []Entry
		for _, o := range ops {
			if !o.del {
				entries = append(entries, Entry{Key: o.key, Value: o.value})
				w.entries(1, len(o.key)+len(o.value))
			}
		}
		if len(entries) == 0 {
			return nil
		}
		out = split(newLeaf(entries))
		w.nodes(0, len(out))
	} else {
		root, err := s.rootNode()
		if err != nil {
			return err
		}
		var changed bool
		out, changed, err = w.apply(root, ops)
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

// apply applies ops (sorted, one per key) to the subtree rooted at n and
// returns the nodes that replace n: usually one; several after a split;
// none when the subtree lost its last entry. changed is false when the
// ops change nothing (deletes of missing keys, puts of the values the keys
// have): then n stays.
//
// An internal node's children are copied once, however many of its
// children change: a batch costs one copy of each node on the paths it
// touches, not one per operation. The ops are taken from the right, a
// child at a time, and the child for the rightmost remaining op is looked
// up again after each change, because a rebalance may have moved the
// boundary between that child and its left sibling.
func (w *writer) apply(n *mnode, ops []*op) (out []piece, changed bool, err error) {
	if n.level == 0 {
		if n.buf == nil {
			return w.applyLeaf(n, ops)
		}
		// A buffered leaf: the ops need its entries. Its Stats
		// correction counts only if it is replaced.
		entries, d, err := w.t.resolve(n, nil)
		if err != nil {
			return nil, false, err
		}
		if out, changed, err = w.applyLeaf(newLeaf(entries), ops); err != nil || !changed {
			return nil, false, err
		}
		w.stats.apply(d)
		return out, true, nil
	}
	var children []Child
	var mem []*mnode
	for len(ops) > 0 {
		cs := n.children
		if children != nil {
			cs = children
		}
		j := childIndex(w.t.cmp, cs, ops[len(ops)-1].key)
		k := 0
		if j > 0 {
			k = sort.Search(len(ops), func(i int) bool { return w.t.cmp(ops[i].key, cs[j].Key) >= 0 })
		}
		group := ops[k:]
		ops = ops[:k]
		sub, ch, err := w.applyChild(n, children, mem, j, group)
		if err != nil {
			return nil, false, err
		}
		if !ch {
			continue
		}
		if children == nil {
			children, mem = clone(n.children), make([]*mnode, len(n.children))
			copy(mem, n.mem)
		}
		if mem[j] == nil {
			w.free(children[j].Ptr) // sub replaces it: new nodes, or none
		}
		w.nodes(n.level-1, len(sub)-1)
		if len(sub) == 1 {
			mem[j] = sub[0].n // the piece takes over the child's key
		} else {
			children, mem = splice(children, mem, j, j+1, sub)
		}
		if children, mem, err = w.rebalance(n.level-1, children, mem, j, len(sub)); err != nil {
			return nil, false, err
		}
	}
	if children == nil {
		return nil, false, nil
	}
	if len(children) == 0 {
		return nil, true, nil
	}
	if len(children) > 0 {
		children[0].Key = nil
	}
	return split(newInternal(n.level, children, mem)), true, nil
}

// applyChild applies ops to child j of internal node n, whose children
// are children and mem once copied (nil before): puts into a leaf are
// buffered (buffered.go) when they fit, anything else goes down through
// apply.
func (w *writer) applyChild(n *mnode, children []Child, mem []*mnode, j int, ops []*op) ([]piece, bool, error) {
	if children == nil {
		children, mem = n.children, n.mem
	}
	var c *mnode
	if mem != nil {
		c = mem[j]
	}
	if n.level == 1 && allPuts(ops) {
		b, changed, fits := w.bufferPuts(c, children[j].Ptr, ops)
		switch {
		case !changed:
			return nil, false, nil
		case fits:
			return []piece{{n: b}}, true, nil
		}
		out, changed, ok, err := w.splitBuffered(c, children[j].Ptr, ops)
		if err != nil || ok {
			return out, changed, err
		}
	}
	if c == nil {
		var err error
		if c, err = w.t.load(children[j].Ptr, n.level-1); err != nil {
			return nil, false, err
		}
	}
	return w.apply(c, ops)
}

func allPuts(ops []*op) bool {
	for _, o := range ops {
		if o.del {
			return false
		}
	}
	return true
}

// applyLeaf merges ops into leaf n's entries: a binary search for each
// op's place, the entries between copied in bulk, the node's encoded size
// kept up to date on the way instead of recomputed.
func (w *writer) applyLeaf(n *mnode, ops []*op) ([]piece, bool, error) {
	entries := make([]Entry, 0, len(n.entries)+len(ops))
	i, changed, size := 0, false, n.size
	for _, o := range ops {
		j, found := leafIndex(w.t.cmp, n.entries[i:], o.key)
		entries = append(entries, n.entries[i:i+j]...)
		i += j
		o.existed = found
		switch {
		case o.del && !found:
		case o.del:
			old := n.entries[i]
			w.entries(-1, -len(old.Key)-len(old.Value))
			size -= n.entrySize(i)
			i++
			changed = true
		case found && bytes.Equal(n.entries[i].Value, o.value):
			// Nothing to do, and not dirtying the path keeps replayed
			// puts cheap.
			entries = append(entries, n.entries[i])
			i++
		case found:
			old := n.entries[i]
			w.entries(0, len(o.value)-len(old.Value))
			e := Entry{Key: old.Key, Value: o.value}
			size += leafEntrySize(e) - n.entrySize(i)
			entries = append(entries, e)
			i++
			changed = true
		default:
			w.entries(1, len(o.key)+len(o.value))
			e := Entry{Key: o.key, Value: o.value}
			size += leafEntrySize(e)
			entries = append(entries, e)
			changed = true
		}
	}
	if !changed {
		return nil, false, nil
	}
	entries = append(entries, n.entries[i:]...)
	if len(entries) == 0 {
		return nil, true, nil // the leaf goes: the parent drops it
	}
	// Capped, so that nothing ever appends into the spare capacity.
	return split(&mnode{entries: entries[:len(entries):len(entries)], size: size}), true, nil
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
		if p >= len(children) || len(children) < 2 || mem[p] == nil || mem[p].size >= minSize || mem[p].buf != nil {
			continue // a buffered leaf's size is a bound: it may well be large enough
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

// nodeAt returns child i (of level level) to be rebuilt: read if it is
// on the media, its entries merged if it is a buffered leaf.
func (w *writer) nodeAt(children []Child, mem []*mnode, i int, level uint8) (*mnode, error) {
	if mem[i] != nil {
		return w.unbuffer(mem[i])
	}
	return w.t.load(children[i].Ptr, level)
}
