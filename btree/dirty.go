package btree

import "unsafe"

// DirtyBytes is about how much memory the nodes built since the last
// flush take: the in-memory nodes the current state reaches, each counted
// as its encoded size plus its entry slices and a fixed overhead (the
// measure the node cache uses). It visits those nodes only (nothing on the
// media is read), so it costs in proportion to what it reports. A store
// bounds the memory of its trees by checkpointing when the sum passes a
// limit.
func (t *Tree) DirtyBytes() int64 {
	s := t.snap.Load()
	if s.root == nil {
		return 0
	}
	return dirtyBytes(s.root)
}

const mnodeOverhead = int64(unsafe.Sizeof(mnode{})) + 64

func dirtyBytes(n *mnode) int64 {
	if n.buf != nil {
		// The puts only: the base is on the media, or counted here
		// if in memory.
		b := n.buf.dirty
		if n.buf.baseMem != nil {
			b += dirtyBytes(n.buf.baseMem)
		}
		return b
	}
	b := int64(n.size) + mnodeOverhead + int64(len(n.entries))*entrySliceCost + int64(len(n.children))*(childSliceCost+8)
	for _, c := range n.mem {
		if c != nil {
			b += dirtyBytes(c)
		}
	}
	return b
}
