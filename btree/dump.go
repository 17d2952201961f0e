package btree

import (
	"errors"
	"fmt"
)

// ErrNoNode: DumpNode was given a path that leads to no node (an index
// past a node's children, or below a leaf).
var ErrNoNode = errors.New("no such b-tree node")

// NodeDump is one node of a snapshot, decoded, for people and tools that
// inspect a tree (the support console).
type NodeDump struct {
	Tree  uint64
	Path  []int // child indexes from the root
	Level uint8
	// OnMedia: the node was read from the media, at Ptr. A node built in
	// memory since the last flush (dirty) has no address yet.
	OnMedia bool
	Ptr     Ptr
	Size    int // encoded bytes
	// A leaf's entries, or an internal node's children.
	Entries  []Entry
	Children []ChildDump
}

// ChildDump is one child of an internal node.
type ChildDump struct {
	Key []byte // the smallest key of its subtree (empty for the first child)
	Ptr Ptr    // where it lies, when it is on the media
	// InMemory: the child was built in memory since the last flush; Ptr
	// means nothing.
	InMemory bool
}

// DumpNode returns the node of the snapshot that path leads to: child
// indexes from the root (none: the root). Nodes on the media are read
// and verified as any read does. The slices in the dump are the tree's
// and must not be modified. An empty tree, or a path that leads nowhere,
// is an error wrapping ErrNoNode.
func (s *Snapshot) DumpNode(path []int) (*NodeDump, error) {
	d := &NodeDump{Tree: s.t.id, Path: append([]int{}, path...)}
	var n *mnode
	var err error
	switch {
	case s.stats.Height == 0:
		return nil, fmt.Errorf("b-tree %d: %w: the tree is empty", s.t.id, ErrNoNode)
	case s.root != nil:
		n = s.root
	default:
		d.OnMedia, d.Ptr = true, s.ptr
		if n, err = s.t.load(s.ptr, uint8(s.stats.Height-1)); err != nil {
			return nil, fmt.Errorf("b-tree %d: root: %w", s.t.id, err)
		}
	}
	for depth, i := range path {
		if n.level == 0 {
			return nil, fmt.Errorf("b-tree %d: %w: node %s is a leaf", s.t.id, ErrNoNode, pathString(path[:depth]))
		}
		if i < 0 || i >= len(n.children) {
			return nil, fmt.Errorf("b-tree %d: %w: node %s has children 0 to %d, not %d", s.t.id, ErrNoNode, pathString(path[:depth]), len(n.children)-1, i)
		}
		if n.mem != nil && n.mem[i] != nil {
			d.OnMedia, d.Ptr = false, Ptr{}
			n = n.mem[i]
			continue
		}
		p := n.children[i].Ptr
		d.OnMedia, d.Ptr = true, p
		if n, err = s.t.load(p, n.level-1); err != nil {
			return nil, fmt.Errorf("b-tree %d: node %s: %w", s.t.id, pathString(path[:depth+1]), err)
		}
	}
	d.Level, d.Size = n.level, n.size
	if n.level == 0 {
		// A buffered leaf shows its entries merged (Size is then a
		// bound: see buffered.go).
		if d.Entries, err = s.t.leafEntries(n); err != nil {
			return nil, fmt.Errorf("b-tree %d: node %s: %w", s.t.id, pathString(path), err)
		}
		return d, nil
	}
	for i, c := range n.children {
		cd := ChildDump{Key: c.Key, Ptr: c.Ptr}
		if n.mem != nil && n.mem[i] != nil {
			cd.InMemory, cd.Ptr = true, Ptr{}
		}
		d.Children = append(d.Children, cd)
	}
	return d, nil
}

// pathString names a node by its path, as Check and Walk do.
func pathString(path []int) string {
	s := "root"
	for _, i := range path {
		s += fmt.Sprintf("/%d", i)
	}
	return s
}
