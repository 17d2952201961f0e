package btree

// leafPos is an iterator's place in a leaf: the merge of a's entries and
// b's (a buffered leaf's base and its puts; b is empty for any other
// leaf), b's entry winning over a's of the same key, walked without
// building the merged slice. ia and ib count the entries of a and b
// before the current one: the current entry is the smaller of a[ia] and
// b[ib] (b's when they are equal), and the leaf is exhausted when both
// are.
type leafPos struct {
	a, b   []Entry
	ia, ib int
	fromB  bool // the current entry is b[ib]
	cmp    Compare
}

// iterLeaf returns leaf n's entries as a leafPos, unpositioned. A
// buffered leaf over a leaf on the media reads it; over a chain of
// buffered leaves (a flush under way) the entries are merged into one
// slice.
func (t *Tree) iterLeaf(n *mnode) (leafPos, error) {
	p := leafPos{cmp: t.cmp}
	switch {
	case n.buf == nil:
		p.a = n.entries
	case n.buf.baseMem == nil:
		bn, err := t.load(n.buf.base, 0)
		if err != nil {
			return p, err
		}
		p.a, p.b = t.inRange(n.buf, bn.entries), n.buf.puts
	case n.buf.baseMem.buf == nil:
		p.a, p.b = n.buf.baseMem.entries, n.buf.puts
	default:
		entries, err := t.leafEntries(n)
		if err != nil {
			return p, err
		}
		p.a = entries
	}
	return p, nil
}

func (p *leafPos) valid() bool { return p.ia < len(p.a) || p.ib < len(p.b) }

// settle finds which list holds the current entry.
func (p *leafPos) settle() {
	switch {
	case p.ib >= len(p.b):
		p.fromB = false
	case p.ia >= len(p.a):
		p.fromB = true
	default:
		p.fromB = p.cmp(p.b[p.ib].Key, p.a[p.ia].Key) <= 0
	}
}

func (p *leafPos) cur() Entry {
	if p.fromB {
		return p.b[p.ib]
	}
	return p.a[p.ia]
}

// first moves to the first entry; last to the last. They report whether
// the leaf has one.
func (p *leafPos) first() bool {
	p.ia, p.ib = 0, 0
	p.settle()
	return p.valid()
}

func (p *leafPos) last() bool {
	p.ia, p.ib = len(p.a), len(p.b)
	return p.prev()
}

// seekGE moves to the first entry not below key; seekGT to the first above
// it. They report whether there is one in the leaf.
func (p *leafPos) seekGE(key []byte) bool {
	p.ia, _ = leafIndex(p.cmp, p.a, key)
	p.ib, _ = leafIndex(p.cmp, p.b, key)
	p.settle()
	return p.valid()
}

func (p *leafPos) seekGT(key []byte) bool {
	p.ia, p.ib = upperIndex(p.cmp, p.a, key), upperIndex(p.cmp, p.b, key)
	p.settle()
	return p.valid()
}

// next moves to the next entry and reports whether there is one.
func (p *leafPos) next() bool {
	switch {
	case !p.fromB:
		p.ia++ // b[ib], if any, is above a[ia]: it would win a tie
	default:
		if p.ia < len(p.a) && p.cmp(p.a[p.ia].Key, p.b[p.ib].Key) == 0 {
			p.ia++ // the base's entry b's replaces
		}
		p.ib++
	}
	p.settle()
	return p.valid()
}

// prev moves to the previous entry and reports whether there is one.
func (p *leafPos) prev() bool {
	switch {
	case p.ia == 0 && p.ib == 0:
		return false
	case p.ib == 0:
		p.ia--
	case p.ia == 0:
		p.ib--
	default:
		switch c := p.cmp(p.a[p.ia-1].Key, p.b[p.ib-1].Key); {
		case c > 0:
			p.ia--
		case c < 0:
			p.ib--
		default:
			p.ia--
			p.ib--
		}
	}
	p.settle()
	return true
}
