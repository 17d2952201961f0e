package btree

import (
	"fmt"
	"strconv"
	"strings"
)

// Walk calls fn once for every node on the media the snapshot reaches
// (the root too, when it is on the media), with its level: what a store
// needs to count the live bytes of each of its segments, or to free every
// node of a tree it drops. The nodes built in memory since the last flush
// are traversed, to reach the nodes on the media below them, but not
// reported: they have no address yet.
//
// It reads the internal nodes on the media, to find their children, but
// never a leaf: its pointer, in its parent, is all fn gets. fn sees a
// node's children before the node (the order Flush writes them in), so a
// caller freeing the nodes of a dropped tree frees an internal node only
// once the walk is done reading it.
//
// An error reading a node, or one fn returns, stops the walk; Walk
// returns it wrapped, naming the node by its path from the root.
func (s *Snapshot) Walk(fn func(p Ptr, level uint8) error) error {
	if fn == nil {
		return fmt.Errorf("b-tree %d: walk: no function to call", s.t.id)
	}
	w := &walker{s: s, fn: fn}
	var err error
	switch {
	case s.stats.Height == 0:
		return nil
	case s.root != nil:
		err = w.node(s.root)
	default:
		err = w.ptr(s.ptr, uint8(s.stats.Height-1))
	}
	if err != nil {
		return fmt.Errorf("b-tree %d: walk: %w", s.t.id, err)
	}
	return nil
}

type walker struct {
	s    *Snapshot
	fn   func(Ptr, uint8) error
	path []int // child indexes from the root to the current node
}

// where names the current node in messages (as Check does).
func (w *walker) where() string {
	var b strings.Builder
	b.WriteString("root")
	for _, i := range w.path {
		b.WriteByte('/')
		b.WriteString(strconv.Itoa(i))
	}
	return b.String()
}

// ptr walks the subtree of the node on the media p points at, which its
// parent says is at level.
func (w *walker) ptr(p Ptr, level uint8) error {
	if level > 0 {
		n, err := w.s.t.load(p, level)
		if err != nil {
			return fmt.Errorf("node %s: %w", w.where(), err)
		}
		if err := w.node(n); err != nil {
			return err
		}
	}
	if err := w.fn(p, level); err != nil {
		return fmt.Errorf("node %s at %s (level %d): %w", w.where(), addrString(p.Addr), level, err)
	}
	return nil
}

// node walks the children of n, a node in memory or one just read.
func (w *walker) node(n *mnode) error {
	for i, c := range n.children {
		w.path = append(w.path, i)
		var err error
		if n.mem != nil && n.mem[i] != nil {
			err = w.node(n.mem[i])
		} else {
			err = w.ptr(c.Ptr, n.level-1)
		}
		w.path = w.path[:len(w.path)-1]
		if err != nil {
			return err
		}
	}
	return nil
}
