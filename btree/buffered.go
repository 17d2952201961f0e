package btree

// Buffered leaves. A put into a leaf on the media does not read the leaf:
// the tree keeps the puts, sorted, beside the leaf's pointer (a buffered
// leaf), and merges them into the leaf's entries only when a flush writes
// it, or when a change needs its entries (a delete, puts that may take it
// past SplitSize, a sibling to rebalance with). Random inserts into a
// large tree then cost neither a read of their leaf nor a copy of it, and
// a leaf changed by many puts between two flushes is written once — what
// makes a copy-on-write tree with a memory bound take random inserts at
// the rate of its journal instead of one leaf write per key
// (docs/design.md, "Buffered leaves").
//
// A buffered leaf builds on a base: the leaf on the media its puts go
// into, or a leaf in memory (one built since the last flush, or a buffered
// leaf that a flush under way is writing: the chain is cut when that flush
// is dropped). Following the bases down from a buffered leaf ends at its
// root base: a leaf on the media, or one in memory that is not buffered.
//
// Its size is an upper bound (the base's size plus every put's entry, as
// if each added a key), so a buffered leaf never needs a split when it is
// written. Puts that would take the bound past SplitSize read the base,
// merge and split, into buffered leaves over that same base, each with
// its key range of it and its puts (splitBuffered): memory still holds
// the puts only. A put that replaces a larger value can make a leaf
// shrink below minSize; it is written so, and rebalanced by the next
// change that rebuilds it.
//
// Stats: a put whose key is not among the puts and entries in memory is
// counted as a new key (Entries and Bytes), and in Stats.Buffered: the
// flush that merges the leaf corrects the counts, and the Root it returns
// is exact (Buffered zero).

import "bytes"

// leafBuf is the part of an mnode that makes it a buffered leaf.
type leafBuf struct {
	base    Ptr    // the base on the media, when baseMem is nil
	baseMem *mnode // or the base in memory
	// ranged: only the base's entries in [lo, hi) are this leaf's (nil:
	// unbounded). A leaf that must split without leaving the memory
	// bound splits into buffered leaves over one base on the media,
	// each with its range of it (splitBuffered).
	ranged    bool
	lo, hi    []byte
	rangeSize int // the encoded size of a leaf of the base's entries in the range
	puts      []Entry
	// epoch is Tree.flushes when the node was built: a buffered leaf of
	// an earlier epoch may be in a flush under way, so a change builds a
	// new buffered leaf on it rather than on its base (whose space that
	// flush frees).
	epoch uint64
	// What the Stats count for the puts of the whole chain, over the
	// root base: the entries and key+value bytes added, and how many of
	// the entries added are unknown (the key may be in the root base on
	// the media: Stats.Buffered).
	added, addedBytes, unknown int
	// dirty is what the puts take in memory (DirtyBytes), computed once.
	dirty int64
}

// statsDelta is a change of Stats' entry counts.
type statsDelta struct{ entries, bytes, buffered int64 }

func (d *statsDelta) add(o statsDelta) {
	d.entries += o.entries
	d.bytes += o.bytes
	d.buffered += o.buffered
}

func (s *Stats) apply(d statsDelta) {
	s.Entries = uint64(int64(s.Entries) + d.entries)
	s.Bytes = uint64(int64(s.Bytes) + d.bytes)
	s.Buffered = uint64(int64(s.Buffered) + d.buffered)
}

// putsSize is the encoded size of the entries.
func putsSize(puts []Entry) int {
	n := 0
	for _, e := range puts {
		n += leafEntrySize(e)
	}
	return n
}

// putsDirty is the memory buffered puts take, as the cache measures a
// node's: their encoded size and their slice.
func putsDirty(puts []Entry) int64 {
	return mnodeOverhead + int64(putsSize(puts)) + int64(len(puts))*entrySliceCost
}

// entryBytes is the key and value bytes of the entries (what Stats.Bytes
// counts).
func entryBytes(entries []Entry) int {
	n := 0
	for _, e := range entries {
		n += len(e.Key) + len(e.Value)
	}
	return n
}

// baseSize is the size of a buffered leaf's base (an upper bound if the
// base is buffered too).
func (b *leafBuf) baseSize() int {
	switch {
	case b.baseMem != nil:
		return b.baseMem.size
	case b.ranged:
		return b.rangeSize
	}
	return int(b.base.Addr.Len)
}

// lookupMem searches leaf n (nil: a leaf on the media) and the chain of
// bases in memory below it for key, without reading anything: found and
// its value, or known false when the answer is in a root base on the
// media.
func (t *Tree) lookupMem(n *mnode, key []byte) (value []byte, found, known bool) {
	for n != nil {
		if n.buf == nil {
			i, ok := leafIndex(t.cmp, n.entries, key)
			if ok {
				return n.entries[i].Value, true, true
			}
			return nil, false, true
		}
		if i, ok := leafIndex(t.cmp, n.buf.puts, key); ok {
			return n.buf.puts[i].Value, true, true
		}
		n = n.buf.baseMem
	}
	return nil, false, false
}

// leafGet looks key up in leaf n, reading its root base if the answer is
// there.
func (t *Tree) leafGet(n *mnode, key []byte) ([]byte, bool, error) {
	if v, found, known := t.lookupMem(n, key); known {
		return v, found, nil
	}
	p, _ := rootBase(n) // not known: the chain ends on the media
	b, err := t.load(p, 0)
	if err != nil {
		return nil, false, err
	}
	v, found, _ := t.lookupMem(b, key)
	return v, found, nil
}

// leafEntries returns the entries of leaf n: for a buffered leaf, its
// root base's merged with the puts of the chain, in a new slice.
func (t *Tree) leafEntries(n *mnode) ([]Entry, error) {
	e, _, _, err := t.merged(n, nil)
	return e, err
}

// merged returns the entries of leaf n, and the number and key+value
// bytes of the entries of its root base. root, if not nil, is the root
// base on the media, read already.
func (t *Tree) merged(n *mnode, root *mnode) (entries []Entry, rootN, rootBytes int, err error) {
	if n.buf == nil {
		return n.entries, len(n.entries), entryBytes(n.entries), nil
	}
	var base []Entry
	if n.buf.baseMem != nil {
		if base, rootN, rootBytes, err = t.merged(n.buf.baseMem, root); err != nil {
			return nil, 0, 0, err
		}
	} else {
		if root == nil {
			if root, err = t.load(n.buf.base, 0); err != nil {
				return nil, 0, 0, err
			}
		}
		base = t.inRange(n.buf, root.entries)
		rootN, rootBytes = len(base), entryBytes(base)
	}
	return mergePuts(t.cmp, base, n.buf.puts), rootN, rootBytes, nil
}

// inRange returns the entries of a base on the media that are b's: those
// in its range if it has one.
func (t *Tree) inRange(b *leafBuf, entries []Entry) []Entry {
	if !b.ranged {
		return entries
	}
	i, j := 0, len(entries)
	if b.lo != nil {
		i, _ = leafIndex(t.cmp, entries, b.lo)
	}
	if b.hi != nil {
		j, _ = leafIndex(t.cmp, entries, b.hi)
	}
	return entries[i:max(i, j)]
}

// rootBase returns the pointer of buffered leaf n's root base if it is on
// the media.
func rootBase(n *mnode) (Ptr, bool) {
	for n.buf != nil && n.buf.baseMem != nil {
		n = n.buf.baseMem
	}
	if n.buf == nil {
		return Ptr{}, false
	}
	return n.buf.base, true
}

// resolve returns the entries of buffered leaf n and the change to Stats
// that makes them exact: the chain's counts replaced by the entries'.
// root is its root base on the media, read already, or nil.
func (t *Tree) resolve(n *mnode, root *mnode) ([]Entry, statsDelta, error) {
	entries, rootN, rootBytes, err := t.merged(n, root)
	if err != nil {
		return nil, statsDelta{}, err
	}
	b := n.buf
	return entries, statsDelta{
		entries:  int64(len(entries) - rootN - b.added),
		bytes:    int64(entryBytes(entries) - rootBytes - b.addedBytes),
		buffered: -int64(b.unknown),
	}, nil
}

// mergePuts returns base's entries with puts merged in (a put replaces
// the entry of its key), in a new slice of exactly its length.
func mergePuts(cmp Compare, base, puts []Entry) []Entry {
	out := make([]Entry, 0, len(base)+len(puts))
	if len(puts) > len(base)/8 {
		// Many puts: one pass over both costs fewer comparisons than
		// a binary search of the base for each put.
		i, j := 0, 0
		for i < len(base) && j < len(puts) {
			switch c := cmp(base[i].Key, puts[j].Key); {
			case c < 0:
				out = append(out, base[i])
				i++
			case c > 0:
				out = append(out, puts[j])
				j++
			default:
				out = append(out, puts[j])
				i++
				j++
			}
		}
		out = append(out, base[i:]...)
		out = append(out, puts[j:]...)
		return out[:len(out):len(out)]
	}
	i := 0
	for _, p := range puts {
		j, found := leafIndex(cmp, base[i:], p.Key)
		out = append(out, base[i:i+j]...)
		i += j
		if found {
			i++
		}
		out = append(out, p)
	}
	out = append(out, base[i:]...)
	return out[:len(out):len(out)]
}

// bufferPuts returns the buffered leaf that replaces leaf c (nil: the leaf
// on the media p points at) once ops, all puts, are made; changed false
// when they change nothing. fits is false when the bound would pass
// SplitSize: the caller then merges the leaf (and splits it) instead, and
// nothing is counted.
func (w *writer) bufferPuts(c *mnode, p Ptr, ops []*op) (n *mnode, changed, fits bool) {
	t := w.t
	b := &leafBuf{epoch: t.flushes}
	var own []Entry // the puts of c, when the new leaf takes their place
	switch {
	case c == nil:
		b.base = p
	case c.buf != nil && c.buf.epoch == t.flushes:
		// No flush has taken c: the new leaf replaces it outright.
		*b = *c.buf
		own = c.buf.puts
	default:
		b.baseMem = c
		if c.buf != nil {
			b.added, b.addedBytes, b.unknown = c.buf.added, c.buf.addedBytes, c.buf.unknown
		}
	}
	var d statsDelta
	puts := make([]Entry, 0, len(own)+len(ops))
	i := 0
	for _, o := range ops {
		j, inOwn := leafIndex(t.cmp, own[i:], o.key)
		puts = append(puts, own[i:i+j]...)
		i += j
		var old []byte
		var found, known bool
		if inOwn {
			old, found, known = own[i].Value, true, true
		} else {
			old, found, known = t.lookupMem(b.baseMem, o.key)
		}
		if found && bytes.Equal(old, o.value) {
			if inOwn {
				puts = append(puts, own[i])
				i++
			}
			continue // replayed puts stay cheap
		}
		if inOwn {
			i++
		}
		puts = append(puts, Entry{Key: o.key, Value: o.value})
		changed = true
		if found {
			d.bytes += int64(len(o.value) - len(old))
			continue
		}
		d.entries++
		d.bytes += int64(len(o.key) + len(o.value))
		if !known {
			d.buffered++
		}
	}
	puts = append(puts, own[i:]...)
	if !changed {
		return nil, false, true
	}
	size := b.baseSize() + putsSize(puts)
	if size > SplitSize {
		return nil, true, false
	}
	b.puts = puts[:len(puts):len(puts)]
	b.dirty = putsDirty(b.puts)
	b.added += int(d.entries)
	b.addedBytes += int(d.bytes)
	b.unknown += int(d.buffered)
	w.stats.apply(d)
	return &mnode{buf: b, size: size}, true, true
}

// unbuffer returns leaf n as a leaf in memory that is not buffered (n
// itself if it is not), its entries merged; the Stats correction is
// counted in w. The caller replaces n with it (or with what it builds
// from it).
func (w *writer) unbuffer(n *mnode) (*mnode, error) {
	if n.buf == nil {
		return n, nil
	}
	entries, d, err := w.t.resolve(n, nil)
	if err != nil {
		return nil, err
	}
	w.stats.apply(d)
	return newLeaf(entries), nil
}

// splitBuffered makes ops, all puts, into leaf c (nil: the leaf on the
// media p points at), when they may take it past SplitSize: it reads the
// base, merges, splits, and returns the pieces as buffered leaves over
// the same base, each with its range of it and its puts, their sizes and
// counts exact. So a split keeps in memory only the puts, not the
// entries of the pieces. ok is false when c is not a leaf on the media
// or a buffered leaf over one built since the last cut (a base an
// earlier flush frees must not gain references): the caller merges as
// any change does.
func (w *writer) splitBuffered(c *mnode, p Ptr, ops []*op) (out []piece, changed, ok bool, err error) {
	t := w.t
	nb := &leafBuf{base: p}
	var own []Entry
	if c != nil {
		if c.buf == nil || c.buf.baseMem != nil || c.buf.epoch != t.flushes {
			return nil, false, false, nil
		}
		nb = c.buf
		own = c.buf.puts
	}
	bn, err := t.load(nb.base, 0)
	if err != nil {
		return nil, false, false, err
	}
	base := t.inRange(nb, bn.entries)
	before := mergePuts(t.cmp, base, own)
	puts := make([]Entry, 0, len(own)+len(ops))
	for _, o := range ops {
		if i, found := leafIndex(t.cmp, before, o.key); found && bytes.Equal(before[i].Value, o.value) {
			continue
		}
		puts = append(puts, Entry{Key: o.key, Value: o.value})
	}
	if len(puts) == 0 {
		return nil, false, true, nil
	}
	entries := mergePuts(t.cmp, before, puts)
	puts = mergePuts(t.cmp, own, puts) // the new puts replace c's of the same keys
	// The counts become exact: what Stats held for c (its base's and
	// its added) gives way to the entries.
	var d statsDelta
	d.entries = int64(len(entries) - len(base))
	d.bytes = int64(entryBytes(entries) - entryBytes(base))
	if c != nil {
		d.entries -= int64(c.buf.added)
		d.bytes -= int64(c.buf.addedBytes)
		d.buffered = -int64(c.buf.unknown)
	}
	pieces := split(newLeaf(entries))
	for i := 1; i < len(pieces); i++ {
		// A separator may be a key of the base: its own copy, so that
		// the pieces' ranges do not keep the base's buffer in memory
		// (DirtyBytes counts the puts only).
		pieces[i].sep = bytes.Clone(pieces[i].sep)
	}
	out = make([]piece, len(pieces))
	for i, pc := range pieces {
		b := &leafBuf{base: nb.base, ranged: true, lo: nb.lo, hi: nb.hi, epoch: t.flushes}
		if i > 0 {
			b.lo = pc.sep
		}
		if i+1 < len(pieces) {
			b.hi = pieces[i+1].sep
		}
		pe := pc.n.entries
		b.puts = clone(t.inRange(b, puts))
		bb := t.inRange(b, bn.entries)
		b.rangeSize = (&Node{Entries: bb}).EncodedSize()
		b.added = len(pe) - len(bb)
		b.addedBytes = entryBytes(pe) - entryBytes(bb)
		b.dirty = putsDirty(b.puts)
		if size := b.rangeSize + putsSize(b.puts); size <= SplitSize {
			out[i] = piece{sep: pc.sep, n: &mnode{buf: b, size: size}}
		} else {
			// Puts that replaced much of the range: as a bound it
			// would be past SplitSize at once, so the piece keeps
			// its entries.
			out[i] = pc
		}
	}
	w.stats.apply(d)
	return out, true, true, nil
}
