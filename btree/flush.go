package btree

import "fmt"

// Flush writes every node built in memory since the last flush, children
// before parents, each encoded with the tree's comparator and generation
// gen, and returns the Root to record: its pointer and the Stats. Then the
// tree drops the written nodes and reads them back through its Loader
// when needed, so memory holds only what changed since. It is WriteNodes
// followed by Drop, for a NodeWriter whose nodes are durable when Write
// returns; the freed pointers are dropped with the rest, so a caller
// accounting the space of its nodes uses WriteNodes, Written.Freed and
// Drop instead.
//
// Flush writes a snapshot: it holds the writers' lock only at the end, to
// swap the nodes it wrote for their pointers, so writers go on meanwhile,
// and the Root is exactly the state when Flush began — what a checkpoint
// of the journal up to that moment needs. Changes made meanwhile stay in
// memory for the next flush.
func (t *Tree) Flush(w NodeWriter, gen uint64) (Root, error) {
	wr, err := t.WriteNodes(w, gen)
	if err != nil {
		return Root{}, err
	}
	wr.Drop()
	return wr.Root(), nil
}

// Written is a flush whose nodes are written, the tree still holding its
// own copies of them: see WriteNodes.
type Written struct {
	t       *Tree
	root    Root
	sroot   *mnode         // the in-memory root written (nil: none)
	written map[*mnode]Ptr // every node written, and where
	// corr: the Stats correction of the buffered leaves (see
	// buffered.go) of the subtree of each node written, for Drop to
	// count in the current state (absent: none).
	corr  map[*mnode]statsDelta
	freed []Ptr  // a copy of Tree.freed when the snapshot was taken
	seq   uint64 // the value of Tree.flushes this WriteNodes set
	done  bool   // Drop ran (under Tree.mu)
}

// WriteNodes is the first half of Flush: it writes the nodes of the
// current state that are in memory, but leaves them in the tree until
// Drop. A checkpoint calls Drop once the nodes are durable (its metadata
// segments synced): if it fails before, the tree still has every change
// in memory and the next attempt writes them again, instead of pointing
// at nodes that may be lost. The Loader has to read the nodes only from
// Drop on.
//
// It takes the state to write and the list of freed pointers (Freed)
// together, under the writers' lock, so that no change falls between the
// two: every node the written state no longer references was superseded
// before the snapshot, and is in the list.
//
// gen must not be lower than the generation of the previous flush (or of
// the root the tree was opened with): a child may not be newer than its
// parent. A failed WriteNodes changes nothing in the tree (the nodes it
// wrote are garbage) and may be retried. WriteNodes calls are serialized;
// writers go on meanwhile. Checkpoints must be serialized by the caller
// too: see Drop.
func (t *Tree) WriteNodes(w NodeWriter, gen uint64) (*Written, error) {
	return t.Cut().Write(w, gen)
}

// Cut is the state a WriteNodes writes, taken apart from the writing so
// that a checkpoint can cut several trees at one moment (the moment that
// defines its journal position) and write them afterwards while writers
// go on.
type Cut struct {
	t     *Tree
	s     *Snapshot
	freed []Ptr
	seq   uint64
}

// Cut takes the current state and the list of freed pointers together,
// under the writers' lock (briefly: nothing is copied but the list).
// Taking a Cut supersedes every earlier Cut and Written: their Drop does
// nothing.
func (t *Tree) Cut() *Cut {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.flushes++
	return &Cut{t: t, s: t.snap.Load(), freed: clone(t.freed), seq: t.flushes}
}

// Write writes the cut's in-memory nodes: the rest of WriteNodes.
func (c *Cut) Write(w NodeWriter, gen uint64) (*Written, error) {
	t, s := c.t, c.s
	t.fmu.Lock()
	defer t.fmu.Unlock()
	if t.loader == nil {
		return nil, fmt.Errorf("b-tree %d: flush: a tree without a loader cannot read back the nodes it flushes", t.id)
	}
	if gen < t.flushedGen {
		return nil, fmt.Errorf("b-tree %d: flush: generation %d is older than the last flush's, %d", t.id, gen, t.flushedGen)
	}
	f := &flusher{t: t, w: w, gen: gen, written: make(map[*mnode]Ptr), corr: make(map[*mnode]statsDelta)}
	wr := &Written{t: t, root: Root{Ptr: s.ptr, Stats: s.stats}, sroot: s.root, written: f.written, corr: f.corr, freed: c.freed, seq: c.seq}
	if s.root != nil { // else empty, or nothing changed since the last flush
		f.pre = t.prefetchBases(s.root)
		defer f.pre.stop()
		var err error
		if wr.root.Ptr, err = f.write(s.root); err != nil {
			return nil, fmt.Errorf("b-tree %d: flush generation %d: %w", t.id, gen, err)
		}
		wr.root.Stats.apply(f.corr[s.root])
		if wr.root.Stats.Buffered != 0 {
			return nil, fmt.Errorf("%w: b-tree %d: flush generation %d: %d buffered puts left uncounted", ErrInconsistent, t.id, gen, wr.root.Stats.Buffered)
		}
	}
	t.flushedGen = gen
	return wr, nil
}

// Root returns the root of the written state, for the checkpoint record.
func (wr *Written) Root() Root { return wr.root }

// Freed returns the nodes on the media that the written state no longer
// references and the previous flushed state did (the state of the last
// Drop, or the root the tree was opened with): their space is garbage
// once this checkpoint is durable. Each such node is reported by one
// Drop-ed Written only; a Written never dropped (a failed checkpoint)
// leaves its pointers to the next WriteNodes, which reports them again.
// The nodes a WriteNodes writes but never sees dropped are not reported
// at all: they never were part of a flushed state, and the failed
// checkpoint that wrote them owns their space.
//
// A freed node may still be read by a snapshot taken before the change
// that superseded it: its space must not be reused while such a snapshot
// is in use. The slice is the caller's.
func (wr *Written) Freed() []Ptr { return clone(wr.freed) }

// Drop replaces the tree's in-memory copies of the written nodes with
// their pointers, so that they leave memory; the nodes changed since
// WriteNodes stay. It consumes the freed pointers wr reports (Freed), and
// records as freed, for the next flush to report, the nodes wr wrote that
// writers superseded meanwhile (they are live in the written state, not
// in the current one).
//
// Drop must be called before the next WriteNodes begins, or not at all:
// the caller serializes its checkpoints. A Drop of a Written that a later
// WriteNodes (failed or not) superseded does nothing, nor does a second
// Drop of the same Written.
func (wr *Written) Drop() {
	t := wr.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if wr.done || wr.seq != t.flushes {
		wr.written, wr.sroot = nil, nil
		return
	}
	wr.done = true
	dp := &dropper{written: wr.written, corr: wr.corr, found: make(map[*mnode]struct{})}
	cur := t.snap.Load()
	if cur.root != nil {
		m, p := dp.node(cur.root)
		if m != cur.root {
			stats := cur.stats
			stats.apply(dp.d)
			t.snap.Store(&Snapshot{t: t, root: m, ptr: p, stats: stats})
		}
	}
	found := dp.found
	// The pointers wr reports are a prefix of t.freed (only Drop removes
	// entries). A copy lets the array of a large list go.
	rest := t.freed[min(len(wr.freed), len(t.freed)):]
	t.freed = nil
	if len(rest) > 0 {
		t.freed = clone(rest)
	}
	if wr.sroot != nil {
		t.freed = superseded(wr.sroot, wr.written, found, t.freed)
	}
	t.freed = append(t.freed, dp.freed...)
	// The maps reference every node written: let them go.
	wr.written, wr.corr, wr.sroot = nil, nil, nil
}

type flusher struct {
	t       *Tree
	w       NodeWriter
	gen     uint64
	written map[*mnode]Ptr
	corr    map[*mnode]statsDelta // see Written.corr
	pre     *basePrefetch         // the bases of the buffered leaves, read ahead (nil: none)
	buf     []byte
}

// write writes in-memory node n after its in-memory children and returns
// its pointer. A buffered leaf is written with its entries merged.
func (f *flusher) write(n *mnode) (Ptr, error) {
	nd := Node{Tree: f.t.id, Level: n.level, Gen: f.gen, Entries: n.entries, Children: n.children}
	if n.buf != nil {
		var root *mnode
		if p, ok := rootBase(n); ok {
			var err error
			if root, err = f.pre.take(p); err != nil {
				return Ptr{}, fmt.Errorf("merge buffered leaf: read its base: %w", err)
			}
		}
		entries, d, err := f.t.resolve(n, root)
		if err != nil {
			return Ptr{}, fmt.Errorf("merge buffered leaf: %w", err)
		}
		nd.Entries = entries
		if d != (statsDelta{}) {
			f.corr[n] = d
		}
	}
	if n.mem != nil {
		nd.Children = clone(n.children) // n itself is never modified
		var d statsDelta
		for i, c := range n.mem {
			if c == nil {
				continue
			}
			p, err := f.write(c)
			if err != nil {
				return Ptr{}, err
			}
			nd.Children[i].Ptr = p
			d.add(f.corr[c])
		}
		if d != (statsDelta{}) {
			f.corr[n] = d
		}
	}
	var sum uint64
	var err error
	if f.buf, sum, err = nd.Encode(f.buf[:0], f.t.cmp); err != nil {
		return Ptr{}, fmt.Errorf("encode level %d node: %w", n.level, err)
	}
	a, err := f.w.Write(f.buf)
	if err != nil {
		return Ptr{}, fmt.Errorf("write level %d node: %w", n.level, err)
	}
	if int(a.Len) != len(f.buf) {
		return Ptr{}, fmt.Errorf("write level %d node of %d bytes: the writer says %d bytes at set %d offset %d", n.level, len(f.buf), a.Len, a.Set, a.Off)
	}
	p := Ptr{Addr: a, Sum: sum, Gen: f.gen}
	f.written[n] = p
	return p, nil
}

// dropper is the state of one Drop: the flush's written nodes and
// corrections, what it finds of them in the current state, the pointers
// it frees and the Stats correction it counts.
type dropper struct {
	written map[*mnode]Ptr
	corr    map[*mnode]statsDelta
	found   map[*mnode]struct{}
	freed   []Ptr
	d       statsDelta
}

// node returns what replaces in-memory node n once the nodes in written
// are on the media: its pointer (m nil) if n was written; n itself if
// nothing below it was; otherwise a copy of n whose written children are
// pointers, and whose buffered leaves built on a written leaf build on
// its pointer instead. It adds the written nodes it finds to found (not
// the ones below them, which are live too), and counts their Stats
// corrections. Only nodes built since the flush's snapshot are visited
// (the rest were written or are on the media already), so this costs
// what changed meanwhile.
func (dp *dropper) node(n *mnode) (m *mnode, p Ptr) {
	if p, ok := dp.written[n]; ok {
		dp.found[n] = struct{}{}
		dp.d.add(dp.corr[n])
		return nil, p
	}
	if n.buf != nil {
		return dp.rebase(n), Ptr{}
	}
	if n.mem == nil {
		return n, Ptr{}
	}
	var children []Child
	var mem []*mnode
	for i, c := range n.mem {
		if c == nil {
			continue
		}
		cm, cp := dp.node(c)
		if cm == c {
			continue
		}
		if mem == nil {
			children, mem = clone(n.children), clone(n.mem)
		}
		mem[i] = cm
		if cm == nil {
			children[i].Ptr = cp
		}
	}
	if mem == nil {
		return n, Ptr{}
	}
	// Same keys, so the same size.
	return &mnode{level: n.level, children: children, mem: mem, size: n.size}, Ptr{}
}

// rebase returns buffered leaf n, built since the flush's snapshot on a
// leaf that flush wrote, as built on the written leaf's pointer; n
// itself otherwise. The written leaf is live (found), its correction
// counts, and its pointer is freed for the next flush: n's flush will
// supersede it. The counts n carries for its base's puts go with the
// correction.
func (dp *dropper) rebase(n *mnode) *mnode {
	bm := n.buf.baseMem
	p, ok := dp.written[bm]
	if bm == nil || !ok {
		return n
	}
	dp.found[bm] = struct{}{}
	dp.d.add(dp.corr[bm])
	dp.freed = append(dp.freed, p)
	b := *n.buf
	b.base, b.baseMem = p, nil
	b.ranged, b.lo, b.hi, b.rangeSize = false, nil, nil, 0
	if bm.buf != nil {
		b.added -= bm.buf.added
		b.addedBytes -= bm.buf.addedBytes
		b.unknown -= bm.buf.unknown
	}
	return &mnode{buf: &b, size: int(p.Addr.Len) + putsSize(b.puts)}
}

// superseded appends to dst the pointers of the written nodes of the
// subtree of written node n that the current tree no longer holds: every
// node the walk meets down from n until a node dropWritten found (it and
// all below it are live). A node has one path from the written root, so a
// node below a found one is never reached another way; the walk costs
// what writers changed since the snapshot.
func superseded(n *mnode, written map[*mnode]Ptr, found map[*mnode]struct{}, dst []Ptr) []Ptr {
	if _, ok := found[n]; ok {
		return dst
	}
	dst = append(dst, written[n])
	for _, c := range n.mem {
		if c != nil {
			dst = superseded(c, written, found, dst)
		}
	}
	return dst
}
