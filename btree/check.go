package btree

import "fmt"

// Check verifies the snapshot's tree, reading every node on the media
// (each through Decode, against its parent's pointer): key order in every
// node; every key within the range its ancestors' separators give it;
// levels decreasing by one down to the leaves at 0; node sizes (at most
// SplitSize, and, for internal nodes, at least a quarter of it below the
// root); buffered leaves (their puts, bases and counts); the empty first
// key of internal nodes; no empty node, no internal root with a single
// child; every node reached once only (no node in memory, no address on
// the media, referenced twice); children on the media no newer than their
// parent; and the Stats. It returns the first problem found, naming the
// node by its path from the root (child indexes) and, for a node on the
// media, its address: wrapping ErrInconsistent, or the error reading the
// node (ErrCorrupt, ErrMismatch, ...).
func (s *Snapshot) Check() error {
	c := &checker{s: s, cmp: s.t.cmp, mem: make(map[*mnode]string), addr: make(map[Addr]string)}
	if err := c.run(); err != nil {
		return fmt.Errorf("b-tree %d check: %w", s.t.id, err)
	}
	return nil
}

type checker struct {
	s    *Snapshot
	cmp  Compare
	mem  map[*mnode]string // nodes in memory seen, and where
	addr map[Addr]string   // nodes on the media seen, and where
	got  Stats
}

// bound is one end of a key range; !set means unbounded.
type bound struct {
	key []byte
	set bool
}

// where names a node in messages.
type where struct {
	path   string
	onDisk bool
	ptr    Ptr
}

func (w where) String() string {
	if w.onDisk {
		return fmt.Sprintf("node %s at %s", w.path, addrString(w.ptr.Addr))
	}
	return fmt.Sprintf("node %s (in memory)", w.path)
}

func inconsistent(w where, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInconsistent, w, fmt.Sprintf(format, args...))
}

func (c *checker) run() error {
	s := c.s
	root := where{path: "root"}
	switch {
	case s.stats.Height == 0:
		if s.root != nil || s.ptr != (Ptr{}) || s.stats != (Stats{}) {
			return inconsistent(root, "an empty tree with a root or counts (%+v)", s.stats)
		}
		return nil
	case s.stats.Height < 0 || s.stats.Height > maxHeight:
		return inconsistent(root, "height %d", s.stats.Height)
	}
	level := uint8(s.stats.Height - 1)
	n := s.root
	if n == nil {
		root = where{path: "root", onDisk: true, ptr: s.ptr}
		var err error
		if n, err = s.t.load(s.ptr, level); err != nil {
			return fmt.Errorf("node root: %w", err)
		}
		c.addr[s.ptr.Addr] = root.path
	} else {
		c.mem[n] = root.path
	}
	if err := c.node(n, root, level, bound{}, bound{}); err != nil {
		return err
	}
	c.got.Height = s.stats.Height
	if c.got != s.stats {
		return inconsistent(root, "the tree has %+v, its Stats say %+v", c.got, s.stats)
	}
	return nil
}

// node checks n, which its parent says is at level and holds keys in
// [lo, hi), and its subtree.
func (c *checker) node(n *mnode, w where, level uint8, lo, hi bound) error {
	isRoot := w.path == "root"
	if n.level != level {
		return inconsistent(w, "at level %d, its parent implies %d", n.level, level)
	}
	if level == 0 && (len(n.children) > 0 || n.mem != nil) || level > 0 && (len(n.entries) > 0 || n.buf != nil) {
		return inconsistent(w, "level %d node with %d entries and %d children", level, len(n.entries), len(n.children))
	}
	if n.buf != nil {
		return c.buffered(n, w, lo, hi)
	}
	size := (&Node{Level: n.level, Entries: n.entries, Children: n.children}).EncodedSize()
	switch {
	case n.size != size:
		return inconsistent(w, "its recorded size is %d bytes, it encodes to %d", n.size, size)
	case size > MaxNode:
		return inconsistent(w, "%d bytes, more than MaxNode (%d)", size, MaxNode)
	case size > SplitSize:
		return inconsistent(w, "%d bytes, more than SplitSize (%d): it should have split", size, SplitSize)
	case !isRoot && level > 0 && size < minSize:
		// A leaf may be smaller: a flush of buffered puts that
		// shrank values writes it as it is (buffered.go).
		return inconsistent(w, "%d bytes, less than %d: it should have been rebalanced", size, minSize)
	}
	if level == 0 {
		return c.leaf(n, w, lo, hi)
	}
	switch {
	case len(n.children) == 0:
		return inconsistent(w, "internal node without children")
	case isRoot && len(n.children) == 1:
		return inconsistent(w, "internal root with a single child: it should have collapsed")
	case n.mem != nil && len(n.mem) != len(n.children):
		return inconsistent(w, "%d children and %d in-memory slots", len(n.children), len(n.mem))
	case len(n.children[0].Key) != 0:
		return inconsistent(w, "the first child's key %s is not empty", keyString(n.children[0].Key))
	}
	for i := 1; i < len(n.children); i++ {
		k := n.children[i].Key
		switch {
		case len(k) == 0 || len(k) > MaxKey:
			return inconsistent(w, "child %d's key is %d bytes", i, len(k))
		case i > 1 && c.cmp(n.children[i-1].Key, k) >= 0:
			return inconsistent(w, "child %d's key %s is not after child %d's %s", i, keyString(k), i-1, keyString(n.children[i-1].Key))
		case lo.set && c.cmp(k, lo.key) <= 0:
			return inconsistent(w, "child %d's key %s is not after the node's lower bound %s", i, keyString(k), keyString(lo.key))
		case hi.set && c.cmp(k, hi.key) >= 0:
			return inconsistent(w, "child %d's key %s is not below the node's upper bound %s", i, keyString(k), keyString(hi.key))
		}
	}
	c.got.Internal++
	for i, ch := range n.children {
		clo, chi := lo, hi
		if i > 0 {
			clo = bound{ch.Key, true}
		}
		if i+1 < len(n.children) {
			chi = bound{n.children[i+1].Key, true}
		}
		cw := where{path: fmt.Sprintf("%s/%d", w.path, i)}
		var child *mnode
		if n.mem != nil && n.mem[i] != nil {
			child = n.mem[i]
			if prev, ok := c.mem[child]; ok {
				return inconsistent(cw, "the same node in memory as %s", prev)
			}
			c.mem[child] = cw.path
		} else {
			cw.onDisk, cw.ptr = true, ch.Ptr
			if prev, ok := c.addr[ch.Ptr.Addr]; ok {
				return inconsistent(cw, "the same address as %s", prev)
			}
			c.addr[ch.Ptr.Addr] = cw.path
			if n.gen != 0 && ch.Ptr.Gen > n.gen {
				return inconsistent(cw, "generation %d, newer than its parent's %d", ch.Ptr.Gen, n.gen)
			}
			var err error
			if child, err = c.s.t.load(ch.Ptr, level-1); err != nil {
				return fmt.Errorf("node %s: %w", cw.path, err)
			}
		}
		if err := c.node(child, cw, level-1, clo, chi); err != nil {
			return err
		}
	}
	return nil
}

func (c *checker) leaf(n *mnode, w where, lo, hi bound) error {
	if len(n.entries) == 0 {
		return inconsistent(w, "empty leaf")
	}
	for i, e := range n.entries {
		if err := CheckEntry(e.Key, e.Value); err != nil {
			return inconsistent(w, "entry %d: %v", i, err)
		}
		switch {
		case i > 0 && c.cmp(n.entries[i-1].Key, e.Key) >= 0:
			return inconsistent(w, "entry %d's key %s is not after entry %d's %s", i, keyString(e.Key), i-1, keyString(n.entries[i-1].Key))
		case lo.set && c.cmp(e.Key, lo.key) < 0:
			return inconsistent(w, "entry %d's key %s is below the node's lower bound %s", i, keyString(e.Key), keyString(lo.key))
		case hi.set && c.cmp(e.Key, hi.key) >= 0:
			return inconsistent(w, "entry %d's key %s is not below the node's upper bound %s", i, keyString(e.Key), keyString(hi.key))
		}
		c.got.Entries++
		c.got.Bytes += uint64(len(e.Key) + len(e.Value))
	}
	c.got.Leaves++
	return nil
}

// buffered checks buffered leaf n: its puts in order and unique, its
// chain of bases, its size bound, and its entries (merged) as a leaf's;
// and counts what its Stats count.
func (c *checker) buffered(n *mnode, w where, lo, hi bound) error {
	rootN, rootBytes := 0, 0
	bound := 0
	for b := n; ; {
		puts := b.buf.puts
		if len(puts) == 0 && !b.buf.ranged {
			return inconsistent(w, "a buffered leaf without puts")
		}
		if b.buf.ranged && b.buf.baseMem != nil {
			return inconsistent(w, "a buffered leaf with a range of a base in memory")
		}
		for i, e := range puts {
			if i > 0 && c.cmp(puts[i-1].Key, e.Key) >= 0 {
				return inconsistent(w, "buffered put %d's key %s is not after put %d's %s", i, keyString(e.Key), i-1, keyString(puts[i-1].Key))
			}
		}
		bound += putsSize(puts)
		if b.buf.dirty != putsDirty(puts) {
			return inconsistent(w, "its puts are counted as %d bytes of memory, not %d", b.buf.dirty, putsDirty(puts))
		}
		if b.buf.unknown < 0 || b.buf.unknown > b.buf.added {
			return inconsistent(w, "%d buffered puts of unknown keys among %d added", b.buf.unknown, b.buf.added)
		}
		base := b.buf.baseMem
		if base == nil {
			// Buffered leaves split from one share its base, each
			// with its range of it.
			if prev, ok := c.addr[b.buf.base.Addr]; ok && !b.buf.ranged {
				return inconsistent(w, "its base has the same address as %s", prev)
			}
			c.addr[b.buf.base.Addr] = w.path + " (base)"
			nb, err := c.s.t.load(b.buf.base, 0)
			if err != nil {
				return fmt.Errorf("node %s: base: %w", w.path, err)
			}
			es := c.s.t.inRange(b.buf, nb.entries)
			if !b.buf.ranged {
				bound += int(b.buf.base.Addr.Len)
			} else if size := (&Node{Entries: es}).EncodedSize(); b.buf.rangeSize != size {
				return inconsistent(w, "its range of its base is counted as %d bytes, it holds %d", b.buf.rangeSize, size)
			} else {
				bound += size
			}
			rootN, rootBytes = len(es), entryBytes(es)
			break
		}
		if base.level != 0 || base.mem != nil || len(base.children) > 0 {
			return inconsistent(w, "a buffered leaf built on a level %d node", base.level)
		}
		if base.buf == nil {
			bound += base.size
			rootN, rootBytes = len(base.entries), entryBytes(base.entries)
			if b.buf.unknown != 0 {
				return inconsistent(w, "%d buffered puts of unknown keys over a leaf in memory", b.buf.unknown)
			}
			break
		}
		b = base
	}
	// A range of a base must be the leaf's range in the tree: narrower,
	// it would hide entries of the base.
	if r := rangedBuf(n); r != nil {
		switch {
		case r.lo != nil && (!lo.set || c.cmp(r.lo, lo.key) != 0):
			return inconsistent(w, "its range of its base starts at %s, the node's at %s", keyString(r.lo), keyString(lo.key))
		case r.hi != nil && (!hi.set || c.cmp(r.hi, hi.key) != 0):
			return inconsistent(w, "its range of its base ends at %s, the node's at %s", keyString(r.hi), keyString(hi.key))
		}
	}
	if n.size != bound {
		return inconsistent(w, "its size bound is %d bytes, its base and puts make %d", n.size, bound)
	}
	entries, err := c.s.t.leafEntries(n)
	if err != nil {
		return fmt.Errorf("node %s: %w", w.path, err)
	}
	if size := (&Node{Entries: entries}).EncodedSize(); size > n.size || size > SplitSize {
		return inconsistent(w, "its entries take %d bytes, above its bound %d or SplitSize", size, n.size)
	}
	b := n.buf
	if len(entries) > rootN+b.added || len(entries) < rootN+b.added-b.unknown {
		return inconsistent(w, "%d entries over a base of %d, counted as %d added (%d unknown)", len(entries), rootN, b.added, b.unknown)
	}
	got := c.got
	if err := c.leaf(&mnode{entries: entries}, w, lo, hi); err != nil {
		return err
	}
	// What Stats count is the chain's counts, not the entries.
	c.got.Entries = got.Entries + uint64(rootN+b.added)
	c.got.Bytes = got.Bytes + uint64(rootBytes+b.addedBytes)
	c.got.Buffered = got.Buffered + uint64(b.unknown)
	return nil
}

// rangedBuf returns the buffered leaf at the root of n's chain if it has
// a range of its base.
func rangedBuf(n *mnode) *leafBuf {
	for n.buf != nil && n.buf.baseMem != nil {
		n = n.buf.baseMem
	}
	if n.buf == nil || !n.buf.ranged {
		return nil
	}
	return n.buf
}
