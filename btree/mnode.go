package btree

import (
	"bytes"
	"sort"
)

// Node sizes the tree keeps to (encoded bytes).
const (
	// minSize: a node (other than the root) that falls below it is
	// merged with a sibling or takes entries from it.
	minSize = SplitSize / 4
	// bulkFill: BulkLoad fills nodes to about 90%, leaving room for
	// later inserts before the first split.
	bulkFill = SplitSize * 9 / 10
)

// mnode is the tree's own view of a node: either one read from the media
// (wrapping the decoded Node's slices without copying them) or one built
// in memory since the last flush.
//
// An mnode reachable from a published snapshot is never modified, nor is
// any slice it holds: every change builds new nodes (path copying), always
// into freshly allocated slices. That is what lets readers go without
// locks. A node read from the media is never put into mem: that would make
// it dirty (written again by the next flush) and keep it in memory.
type mnode struct {
	level    uint8
	gen      uint64   // the generation that wrote a node read from the media; 0 for one built in memory
	entries  []Entry  // a leaf's entries, in key order
	children []Child  // an internal node's separator keys, and the pointers of its children on the media
	mem      []*mnode // nil, or one per child: non-nil for a child in memory (then children[i].Ptr means nothing)
	size     int      // encoded size (an upper bound of it for a buffered leaf)
	buf      *leafBuf // a buffered leaf (buffered.go): its entries are its base's and these puts
}

func newLeaf(entries []Entry) *mnode {
	return &mnode{entries: entries, size: (&Node{Entries: entries}).EncodedSize()}
}

func newInternal(level uint8, children []Child, mem []*mnode) *mnode {
	return &mnode{level: level, children: children, mem: mem, size: (&Node{Level: level, Children: children}).EncodedSize()}
}

// wrap makes a node read from the media an mnode, sharing its slices.
func wrap(nd *Node) *mnode {
	size := nd.decoded
	if size == 0 {
		size = nd.EncodedSize()
	}
	return &mnode{level: nd.Level, gen: nd.Gen, entries: nd.Entries, children: nd.Children, size: size}
}

func (n *mnode) count() int {
	if n.level == 0 {
		return len(n.entries)
	}
	return len(n.children)
}

// entrySize is the encoded size of entry (or child) i.
func (n *mnode) entrySize(i int) int {
	if n.level == 0 {
		return leafEntrySize(n.entries[i])
	}
	return childSize(n.children[i].Key)
}

func leafEntrySize(e Entry) int {
	return uvarintLen(len(e.Key)) + uvarintLen(len(e.Value)) + len(e.Key) + len(e.Value)
}

func childSize(key []byte) int { return uvarintLen(len(key)) + len(key) + ptrSize }

// childIndex returns the child of an internal node whose range holds key:
// the last one whose separator is at most key (the first child's empty
// key stands for everything below the second's).
func childIndex(cmp Compare, children []Child, key []byte) int {
	return sort.Search(len(children)-1, func(j int) bool { return cmp(children[j+1].Key, key) > 0 })
}

// leafIndex returns the position of the first entry not below key, and
// whether it is key.
func leafIndex(cmp Compare, entries []Entry, key []byte) (int, bool) {
	i := sort.Search(len(entries), func(j int) bool { return cmp(entries[j].Key, key) >= 0 })
	return i, i < len(entries) && cmp(entries[i].Key, key) == 0
}

// upperIndex returns the position of the first entry above key.
func upperIndex(cmp Compare, entries []Entry, key []byte) int {
	return sort.Search(len(entries), func(j int) bool { return cmp(entries[j].Key, key) > 0 })
}

// piece is a node replacing (part of) another, with the smallest key of
// its range: its separator in the parent. The first piece of a list takes
// over the key of the child it replaces, so its sep is not used.
type piece struct {
	sep []byte
	n   *mnode
}

// split returns n as the only piece, or, when n is larger than SplitSize,
// the pieces it splits into: two halves of about equal encoded size, each
// halved again while it is too large (which only a node read from the
// media, written with other limits, can need).
func split(n *mnode) []piece { return appendSplit(nil, nil, n) }

func appendSplit(dst []piece, sep []byte, n *mnode) []piece {
	if n.size <= SplitSize || n.count() < 2 {
		return append(dst, piece{sep, n})
	}
	l, r, rsep := halve(n)
	dst = appendSplit(dst, sep, l)
	return appendSplit(dst, rsep, r)
}

// halve cuts n (of two entries or more) where the two sides are closest
// in encoded size, and returns them and the right side's separator.
func halve(n *mnode) (l, r *mnode, sep []byte) {
	cnt := n.count()
	half := (n.size - nodeHeaderSize) / 2
	acc, c := 0, 0
	for c < cnt && acc+n.entrySize(c) <= half {
		acc += n.entrySize(c)
		c++
	}
	// acc <= half < acc + entrySize(c): take entry c too if that is closer.
	if c < cnt && acc+n.entrySize(c)-half < half-acc {
		c++
	}
	c = max(1, min(c, cnt-1))
	if n.level == 0 {
		// The separator goes up into the parent, which may stay in
		// memory long after this leaf: its own copy, so that it does
		// not keep the buffer of a leaf read from the media (its keys
		// alias it) alive with it.
		return newLeaf(clone(n.entries[:c])), newLeaf(clone(n.entries[c:])), bytes.Clone(n.entries[c].Key)
	}
	lc, rc := clone(n.children[:c]), clone(n.children[c:])
	sep = rc[0].Key
	rc[0].Key = nil // the first child's key is empty; its key moves up to the parent
	var lm, rm []*mnode
	if n.mem != nil {
		lm, rm = clone(n.mem[:c]), clone(n.mem[c:])
	}
	return newInternal(n.level, lc, lm), newInternal(n.level, rc, rm), sep
}

// join returns a node holding the entries of siblings l and r, r's
// separator in their parent being sep. It may be too large: callers split
// it.
func join(l, r *mnode, sep []byte) *mnode {
	if l.level == 0 {
		entries := make([]Entry, 0, len(l.entries)+len(r.entries))
		entries = append(entries, l.entries...)
		return newLeaf(append(entries, r.entries...))
	}
	children := make([]Child, 0, len(l.children)+len(r.children))
	children = append(children, l.children...)
	first := r.children[0]
	first.Key = sep // r's range starts at sep
	children = append(children, first)
	children = append(children, r.children[1:]...)
	var mem []*mnode
	if l.mem != nil || r.mem != nil {
		mem = make([]*mnode, 0, len(children))
		mem = appendMem(mem, l.mem, 0, len(l.children))
		mem = appendMem(mem, r.mem, 0, len(r.children))
	}
	return newInternal(l.level, children, mem)
}

// splice returns the children (and in-memory children) of an internal
// node after replacing its children [a, b) with pieces, in new slices. The
// first piece takes over child a's key; the others bring their
// separators. The first child's key is always made empty, as the format
// wants: when child 0 goes without replacement, its successor's range
// extends down to the node's lower bound, which is still right.
func splice(children []Child, mem []*mnode, a, b int, pieces []piece) ([]Child, []*mnode) {
	cnt := len(children) - (b - a) + len(pieces)
	nc := make([]Child, 0, cnt)
	nm := make([]*mnode, 0, cnt)
	nc = append(nc, children[:a]...)
	nm = appendMem(nm, mem, 0, a)
	for j, p := range pieces {
		key := p.sep
		if j == 0 {
			key = children[a].Key
		}
		nc = append(nc, Child{Key: key})
		nm = append(nm, p.n)
	}
	nc = append(nc, children[b:]...)
	nm = appendMem(nm, mem, b, len(children))
	if len(nc) > 0 {
		nc[0].Key = nil
	}
	return nc, nm
}

// appendMem appends mem[a:b], or b-a nils when mem is nil (no child in
// memory).
func appendMem(dst, mem []*mnode, a, b int) []*mnode {
	if mem != nil {
		return append(dst, mem[a:b]...)
	}
	for ; a < b; a++ {
		dst = append(dst, nil)
	}
	return dst
}

// clone copies a slice into one of exactly its length (so that nothing
// ever appends into an array another node uses).
func clone[T any](s []T) []T {
	return append(make([]T, 0, len(s)), s...)
}
