package btree

import "fmt"

// Flush writes every node built in memory since the last flush, children
// before parents, each encoded with the tree's comparator and generation
// gen, and returns the Root to record: its pointer and the Stats. Then the
// tree drops the written nodes and reads them back through its Loader
// when needed, so memory holds only what changed since. It is WriteNodes
// followed by Drop, for a NodeWriter whose nodes are durable when Write
// returns.
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
	written map[*mnode]Ptr
}

// WriteNodes is the first half of Flush: it writes the nodes of the
// current state that are in memory, but leaves them in the tree until
// Drop. A checkpoint calls Drop once the nodes are durable (its metadata
// segments synced): if it fails before, the tree still has every change
// in memory and the next attempt writes them again, instead of pointing
// at nodes that may be lost. The Loader has to read the nodes only from
// Drop on.
//
// gen must not be lower than the generation of the previous flush (or of
// the root the tree was opened with): a child may not be newer than its
// parent. A failed WriteNodes changes nothing in the tree (the nodes it
// wrote are garbage) and may be retried. WriteNodes calls are serialized;
// writers go on meanwhile.
func (t *Tree) WriteNodes(w NodeWriter, gen uint64) (*Written, error) {
	t.fmu.Lock()
	defer t.fmu.Unlock()
	if t.loader == nil {
		return nil, fmt.Errorf("b-tree %d: flush: a tree without a loader cannot read back the nodes it flushes", t.id)
	}
	if gen < t.flushedGen {
		return nil, fmt.Errorf("b-tree %d: flush: generation %d is older than the last flush's, %d", t.id, gen, t.flushedGen)
	}
	s := t.Snapshot()
	f := &flusher{t: t, w: w, gen: gen, written: make(map[*mnode]Ptr)}
	wr := &Written{t: t, root: Root{Ptr: s.ptr, Stats: s.stats}, written: f.written}
	if s.root != nil { // else empty, or nothing changed since the last flush
		var err error
		if wr.root.Ptr, err = f.write(s.root); err != nil {
			return nil, fmt.Errorf("b-tree %d: flush generation %d: %w", t.id, gen, err)
		}
	}
	t.flushedGen = gen
	return wr, nil
}

// Root returns the root of the written state, for the checkpoint record.
func (wr *Written) Root() Root { return wr.root }

// Drop replaces the tree's in-memory copies of the written nodes with
// their pointers, so that they leave memory; the nodes changed since
// WriteNodes stay. It may be called more than once, and after a later
// flush's Drop (then it finds nothing left to drop).
func (wr *Written) Drop() {
	t := wr.t
	t.mu.Lock()
	defer t.mu.Unlock()
	cur := t.snap.Load()
	if cur.root != nil {
		m, p := dropWritten(cur.root, wr.written)
		if m != cur.root {
			t.snap.Store(&Snapshot{t: t, root: m, ptr: p, stats: cur.stats})
		}
	}
	// The map references every node written: let them go (the lock
	// orders this with other Drops of wr).
	wr.written = nil
}

type flusher struct {
	t       *Tree
	w       NodeWriter
	gen     uint64
	written map[*mnode]Ptr
	buf     []byte
}

// write writes in-memory node n after its in-memory children and returns
// its pointer.
func (f *flusher) write(n *mnode) (Ptr, error) {
	nd := Node{Tree: f.t.id, Level: n.level, Gen: f.gen, Entries: n.entries, Children: n.children}
	if n.mem != nil {
		nd.Children = clone(n.children) // n itself is never modified
		for i, c := range n.mem {
			if c == nil {
				continue
			}
			p, err := f.write(c)
			if err != nil {
				return Ptr{}, err
			}
			nd.Children[i].Ptr = p
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

// dropWritten returns what replaces in-memory node n once the nodes in
// written are on the media: its pointer (m nil) if n was written; n itself
// if nothing below it was; otherwise a copy of n whose written children
// are pointers. Only nodes built since the flush's snapshot are visited
// (the rest were written or are on the media already), so this costs what
// changed meanwhile.
func dropWritten(n *mnode, written map[*mnode]Ptr) (m *mnode, p Ptr) {
	if p, ok := written[n]; ok {
		return nil, p
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
		cm, cp := dropWritten(c, written)
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
