package btree

import "fmt"

// Iter walks the entries of a snapshot in key order, both ways. It starts
// unpositioned: call First, Last, Seek, SeekLE or SeekLT. The positioning
// methods report whether the iterator is on an entry (Valid). Moving past
// either end, or failing to read a node (Err), leaves it invalid, and Next
// and Prev then do nothing until it is positioned again. An Iter is not
// safe for concurrent use; any number of them may walk one snapshot.
type Iter struct {
	s     *Snapshot
	path  []frame // from the root to the current leaf
	valid bool
	err   error
}

// frame is a node on the iterator's path and the position in it: the
// child followed, or in the leaf the current entry.
type frame struct {
	n   *mnode
	i   int
	pos leafPos // in the leaf: the place among its entries
}

// Iter returns an unpositioned iterator over the snapshot.
func (s *Snapshot) Iter() *Iter { return &Iter{s: s} }

type seekMode int

const (
	seekFirst seekMode = iota
	seekLast
	seekGE
	seekLE
	seekLT
)

// First moves to the smallest key.
func (it *Iter) First() bool { return it.seek(seekFirst, nil) }

// Last moves to the largest key.
func (it *Iter) Last() bool { return it.seek(seekLast, nil) }

// Seek moves to the first key at or after key.
func (it *Iter) Seek(key []byte) bool { return it.seek(seekGE, key) }

// SeekLE moves to the last key at or before key.
func (it *Iter) SeekLE(key []byte) bool { return it.seek(seekLE, key) }

// SeekLT moves to the last key before key.
func (it *Iter) SeekLT(key []byte) bool { return it.seek(seekLT, key) }

// Valid reports whether the iterator is on an entry.
func (it *Iter) Valid() bool { return it.valid }

// Err returns the error that stopped the iterator, if any.
func (it *Iter) Err() error { return it.err }

// Key returns the current key (nil when not Valid). It must not be
// modified.
func (it *Iter) Key() []byte {
	if !it.valid {
		return nil
	}
	return it.path[len(it.path)-1].pos.cur().Key
}

// Value returns the current value (nil when not Valid). It must not be
// modified.
func (it *Iter) Value() []byte {
	if !it.valid {
		return nil
	}
	return it.path[len(it.path)-1].pos.cur().Value
}

// Next moves to the next key.
func (it *Iter) Next() bool {
	if !it.valid {
		return false
	}
	if it.path[len(it.path)-1].pos.next() {
		return true
	}
	return it.nextLeaf()
}

// Prev moves to the previous key.
func (it *Iter) Prev() bool {
	if !it.valid {
		return false
	}
	if it.path[len(it.path)-1].pos.prev() {
		return true
	}
	return it.prevLeaf()
}

func (it *Iter) seek(mode seekMode, key []byte) bool {
	it.path, it.valid, it.err = it.path[:0], false, nil
	n, err := it.s.rootNode()
	if err != nil {
		return it.fail(err)
	}
	if n == nil {
		return false
	}
	cmp := it.s.t.cmp
	for n.level > 0 {
		i := 0
		switch mode {
		case seekFirst:
		case seekLast:
			i = len(n.children) - 1
		default:
			i = childIndex(cmp, n.children, key)
		}
		it.path = append(it.path, frame{n: n, i: i})
		if n, err = it.s.t.child(n, i); err != nil {
			return it.fail(err)
		}
	}
	pos, err := it.s.t.iterLeaf(n)
	if err != nil {
		return it.fail(err)
	}
	// In the leaf whose range holds key, the entry may be in a neighbour
	// (none here): the first of the next leaf, the last of the previous
	// one.
	var ok, back bool
	switch mode {
	case seekFirst:
		ok = pos.first()
	case seekLast:
		ok, back = pos.last(), true
	case seekGE:
		ok = pos.seekGE(key)
	case seekLE:
		pos.seekGT(key)
		ok, back = pos.prev(), true
	case seekLT:
		pos.seekGE(key)
		ok, back = pos.prev(), true
	}
	it.path = append(it.path, frame{n: n, pos: pos})
	switch {
	case ok:
		it.valid = true
		return true
	case back:
		return it.prevLeaf()
	}
	return it.nextLeaf()
}

// nextLeaf moves to the first entry of the leaf after the current one.
func (it *Iter) nextLeaf() bool {
	return it.stepLeaf(1)
}

// prevLeaf moves to the last entry of the leaf before the current one.
func (it *Iter) prevLeaf() bool {
	return it.stepLeaf(-1)
}

// stepLeaf leaves the current leaf for its neighbour in direction dir (1
// or -1): up to the nearest ancestor with a child that way, then down that
// child's edge. Empty leaves, which only a damaged tree has, are skipped.
func (it *Iter) stepLeaf(dir int) bool {
	it.valid = false
	it.path = it.path[:len(it.path)-1]
	for len(it.path) > 0 {
		top := &it.path[len(it.path)-1]
		top.i += dir
		if top.i < 0 || top.i >= len(top.n.children) {
			it.path = it.path[:len(it.path)-1]
			continue
		}
		n, err := it.s.t.child(top.n, top.i)
		if err != nil {
			return it.fail(err)
		}
		for n.level > 0 {
			i := 0
			if dir < 0 {
				i = len(n.children) - 1
			}
			it.path = append(it.path, frame{n: n, i: i})
			if n, err = it.s.t.child(n, i); err != nil {
				return it.fail(err)
			}
		}
		pos, err := it.s.t.iterLeaf(n)
		if err != nil {
			return it.fail(err)
		}
		ok := pos.first()
		if dir < 0 {
			ok = pos.last()
		}
		if !ok {
			continue // an empty leaf: the loop steps the parent past it
		}
		it.path = append(it.path, frame{n: n, pos: pos})
		it.valid = true
		return true
	}
	return false
}

func (it *Iter) fail(err error) bool {
	it.path, it.valid, it.err = it.path[:0], false, fmt.Errorf("b-tree %d: iterate: %w", it.s.t.id, err)
	return false
}
