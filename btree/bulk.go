package btree

import (
	"fmt"
	"iter"
)

// BulkLoad fills an empty tree from entries in strictly increasing key
// order (under the tree's comparator) — far faster than one Put each, and
// with fuller nodes: leaves are packed to about 90% of SplitSize, then
// each internal level is built bottom-up the same way. The source yields
// an error to abort the load. Keys and values are copied.
//
// The tree changes only if the whole load succeeds, and other writers
// wait until it ends (readers do not). It fails with
// ErrNotEmpty on a tree that holds entries, with ErrUnsorted (naming the
// entry) on keys out of order or repeated, and with the limit errors of
// CheckEntry.
func (t *Tree) BulkLoad(entries iter.Seq2[Entry, error]) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if st := t.snap.Load().stats; st.Height != 0 {
		return fmt.Errorf("b-tree %d: bulk load: %w (%d entries)", t.id, ErrNotEmpty, st.Entries)
	}
	var (
		st     Stats
		leaves []piece
		cur    []Entry
		size   = nodeHeaderSize
		prev   []byte
	)
	for e, err := range entries {
		n := st.Entries
		if err != nil {
			return fmt.Errorf("b-tree %d: bulk load: source failed at entry %d: %w", t.id, n, err)
		}
		if err := CheckEntry(e.Key, e.Value); err != nil {
			return fmt.Errorf("b-tree %d: bulk load: entry %d: %w", t.id, n, err)
		}
		if n > 0 {
			switch c := t.cmp(prev, e.Key); {
			case c == 0:
				return fmt.Errorf("b-tree %d: bulk load: %w: entry %d repeats key %s", t.id, ErrUnsorted, n, keyString(e.Key))
			case c > 0:
				return fmt.Errorf("b-tree %d: bulk load: %w: entry %d, key %s, sorts before entry %d's key %s", t.id, ErrUnsorted, n, keyString(e.Key), n-1, keyString(prev))
			}
		}
		buf := make([]byte, len(e.Key)+len(e.Value))
		copy(buf, e.Key)
		copy(buf[len(e.Key):], e.Value)
		e = Entry{Key: buf[:len(e.Key):len(e.Key)], Value: buf[len(e.Key):]}
		es := uvarintLen(len(e.Key)) + uvarintLen(len(e.Value)) + len(e.Key) + len(e.Value)
		if len(cur) > 0 && size+es > bulkFill {
			leaves = append(leaves, piece{sep: cur[0].Key, n: newLeaf(cur)})
			cur, size = make([]Entry, 0, len(cur)), nodeHeaderSize
		}
		cur = append(cur, e)
		size += es
		prev = e.Key
		st.Entries++
		st.Bytes += uint64(len(e.Key) + len(e.Value))
	}
	if len(cur) == 0 {
		return nil // an empty source leaves the tree empty
	}
	// cur has spare capacity, but nothing ever appends to a node's slice.
	leaves = balanceTail(append(leaves, piece{sep: cur[0].Key, n: newLeaf(cur)}))
	st.Leaves = uint64(len(leaves))
	level := uint8(0)
	for nodes := leaves; ; {
		if len(nodes) == 1 {
			st.Height = int(level) + 1
			t.snap.Store(&Snapshot{t: t, root: nodes[0].n, stats: st})
			return nil
		}
		if int(level)+1 >= maxHeight {
			return fmt.Errorf("b-tree %d: bulk load: taller than %d levels", t.id, maxHeight)
		}
		level++
		nodes = packLevel(level, nodes)
		st.Internal += uint64(len(nodes))
	}
}

// packLevel builds the internal nodes at level over nodes, about 90% full,
// and returns them with their separators (their first child's).
func packLevel(level uint8, nodes []piece) []piece {
	var (
		up       []piece
		children []Child
		mem      []*mnode
		sep      []byte
		size     = nodeHeaderSize
	)
	for _, p := range nodes {
		if len(children) > 0 && size+childSize(p.sep) > bulkFill {
			up = append(up, piece{sep: sep, n: newInternal(level, children, mem)})
			children, mem, size = nil, nil, nodeHeaderSize
		}
		key := p.sep
		if len(children) == 0 {
			sep, key = p.sep, nil // the first child's key is empty; its key is the node's separator
		}
		children = append(children, Child{Key: key})
		mem = append(mem, p.n)
		size += childSize(key)
	}
	up = append(up, piece{sep: sep, n: newInternal(level, children, mem)})
	return balanceTail(up)
}

// balanceTail evens out the last two nodes of a level when the last one
// (which gets whatever is left) is below minSize, as a delete would.
func balanceTail(nodes []piece) []piece {
	k := len(nodes)
	if k < 2 || nodes[k-1].n.size >= minSize {
		return nodes
	}
	joined := split(join(nodes[k-2].n, nodes[k-1].n, nodes[k-1].sep))
	joined[0].sep = nodes[k-2].sep
	return append(nodes[:k-2], joined...)
}
