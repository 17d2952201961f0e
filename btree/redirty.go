package btree

import "fmt"

// Redirty copies into memory every node on the media whose address
// matches, and with it every ancestor on the media (a parent must point at
// the copy), so that the next flush writes them elsewhere: how the
// metadata cleaner empties a segment it wants to reuse. It returns the
// number of matching nodes copied.
//
// The copies are dirty nodes like those a change builds, and their old
// pointers, of the matching nodes and of the ancestors copied along the
// way, join the freed list (Written.Freed) like those of any node a
// change supersedes. The entries, the shape of the tree and its Stats do
// not change, and snapshots taken before are unaffected (the copies are
// new nodes, as everywhere). Nothing is published if no node matches.
//
// It reads every internal node on the media (their children may match)
// and the matching leaves, no other leaf. It holds the writers' lock all
// along, reads included, so it suits small trees, or a few segments at a
// time: writers wait for it. A node it fails to read stops it, and leaves
// the tree as it was.
func (t *Tree) Redirty(match func(Addr) bool) (int, error) {
	if match == nil {
		return 0, fmt.Errorf("b-tree %d: redirty: no address matcher", t.id)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.snap.Load()
	r := &redirtier{t: t, match: match}
	var root *mnode
	var err error
	switch {
	case s.stats.Height == 0:
		return 0, nil
	case s.root != nil:
		root, err = r.node(s.root)
	default:
		root, err = r.ptr(s.ptr, uint8(s.stats.Height-1))
	}
	if err != nil {
		return 0, fmt.Errorf("b-tree %d: redirty: %w", t.id, err)
	}
	if root == nil {
		return 0, nil
	}
	t.snap.Store(&Snapshot{t: t, root: root, stats: s.stats})
	t.freed = append(t.freed, r.freed...)
	return r.count, nil
}

// redirtier is the state of one Redirty: the matching nodes copied, and
// the pointers of every node copied (published only if all goes well).
type redirtier struct {
	t     *Tree
	match func(Addr) bool
	count int
	freed []Ptr
}

// ptr returns an in-memory copy of the node on the media p points at
// (which its parent says is at level) if it or a node below it matches;
// nil otherwise.
func (r *redirtier) ptr(p Ptr, level uint8) (*mnode, error) {
	hit := r.match(p.Addr)
	if level == 0 && !hit {
		return nil, nil // a leaf is read only if it is to be copied
	}
	n, err := r.t.load(p, level)
	if err != nil {
		return nil, err
	}
	var mem []*mnode
	if level > 0 {
		if mem, err = r.children(n); err != nil {
			return nil, err
		}
		if mem == nil && !hit {
			return nil, nil
		}
	}
	if hit {
		r.count++
	}
	r.freed = append(r.freed, p)
	// A node read from the media shares its slices with the loader's
	// node; the copy gets its own, as every node built in memory does.
	c := &mnode{level: n.level, mem: mem, size: n.size}
	if level == 0 {
		c.entries = clone(n.entries)
	} else {
		c.children = clone(n.children)
	}
	return c, nil
}

// node returns a copy of in-memory node n whose children are the copies
// of those that hold a matching node, if any does; nil otherwise.
func (r *redirtier) node(n *mnode) (*mnode, error) {
	if n.level == 0 {
		return nil, nil
	}
	mem, err := r.children(n)
	if err != nil || mem == nil {
		return nil, err
	}
	return &mnode{level: n.level, children: clone(n.children), mem: mem, size: n.size}, nil
}

// children returns the in-memory children internal node n gets when the
// subtrees holding a matching node are copied: a new slice (n's own, in
// memory or not, in the other places), or nil if none is.
func (r *redirtier) children(n *mnode) ([]*mnode, error) {
	var mem []*mnode
	for i, c := range n.children {
		var m *mnode
		var err error
		if n.mem != nil && n.mem[i] != nil {
			m, err = r.node(n.mem[i])
		} else {
			m, err = r.ptr(c.Ptr, n.level-1)
		}
		if err != nil {
			return nil, fmt.Errorf("child %d of a level %d node: %w", i, n.level, err)
		}
		if m == nil {
			continue
		}
		if mem == nil {
			mem = appendMem(make([]*mnode, 0, len(n.children)), n.mem, 0, len(n.children))
		}
		mem[i] = m
	}
	return mem, nil
}
