package btree

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
)

// Errors of the tree (the node errors are in node.go); test with errors.Is.
var (
	// ErrInconsistent: Check found a tree that breaks one of its
	// invariants (the message names the node and the problem).
	ErrInconsistent = errors.New("b-tree is inconsistent")
	// ErrNotEmpty: BulkLoad into a tree that holds entries.
	ErrNotEmpty = errors.New("b-tree is not empty")
	// ErrUnsorted: a BulkLoad source whose keys are not in strictly
	// increasing order (unsorted or duplicate).
	ErrUnsorted = errors.New("bulk load keys not strictly increasing")
)

// Loader reads nodes from the media. Load returns the node p points at,
// verified through Decode(bytes, expect, cmp) — expect is what the parent
// pointer and the tree say the node must be, cmp the tree's order — so
// that a corrupt, misdirected, lost or stale node fails with ErrCorrupt or
// ErrMismatch instead of becoming wrong data.
//
// The comparator is an argument, not a property of the Loader, because
// Decode needs it and one loader (a later step: a bounded cache over the
// metadata segments) serves every tree, each with its own order.
//
// Load must be safe for concurrent use: readers of snapshots call it
// without locks. The node it returns, and the bytes its keys and values
// alias, must never change afterwards: the tree keeps references to them
// (in nodes built from it, and in values returned to callers) for as long
// as it or any snapshot may use them, so a loader must not recycle its
// buffers.
type Loader interface {
	Load(p Ptr, expect Expect, cmp Compare) (*Node, error)
}

// NodeWriter stores encoded nodes for Flush and WriteNodes. Write stores
// one node and returns where it lies, Len being len(node). It must not
// keep node after returning: the buffer is reused.
type NodeWriter interface {
	Write(node []byte) (Addr, error)
}

// Stats describes a tree (or a snapshot of it). The tree keeps them up to
// date as it changes, so reading them costs nothing; Check verifies them.
type Stats struct {
	Height   int    // levels: 0 for an empty tree, 1 for a lone leaf
	Leaves   uint64 // leaf nodes
	Internal uint64 // internal nodes
	Entries  uint64 // key-value pairs
	Bytes    uint64 // key plus value bytes of all entries
	// Buffered counts the puts into leaves not read yet (see
	// buffered.go) whose keys Entries and Bytes count as new although
	// some may replace a key already there: while it is not zero,
	// Entries and Bytes are upper bounds, and Entries-Buffered a lower
	// bound of the entries. The flush that writes those leaves makes
	// the counts exact; a Root is always exact (Buffered zero).
	Buffered uint64
}

// Root is what a checkpoint records to reopen a flushed tree: the root
// pointer and the tree's Stats (carried so that Open does not have to read
// the whole tree to know them). The root's level is Stats.Height-1. An
// empty tree has a zero Root.
type Root struct {
	Ptr   Ptr
	Stats Stats
}

// Empty reports whether r is the root of an empty tree.
func (r Root) Empty() bool { return r.Stats.Height == 0 }

// Tree is a copy-on-write B+tree. Writers (Put, Delete, BulkLoad, Redirty
// and the last step of Flush) are serialized by a mutex. Readers never
// lock: every change builds new nodes along the path it touches and
// publishes a new root atomically, never modifying a node a published
// root reaches, so a Snapshot — and Get and iterators, which work on one —
// sees exactly the state at the moment it was taken, whatever writers do
// afterwards.
//
// Keys and values passed in are copied, so callers may reuse their
// buffers. Slices the tree returns (values, iterator keys and values) are
// shared with the tree and must not be modified.
type Tree struct {
	id     uint64
	cmp    Compare // never nil: bytes.Compare stands for the default
	loader Loader  // nil only for a tree that never flushed

	mu   sync.Mutex // serializes writers
	snap atomic.Pointer[Snapshot]
	// freed (under mu): the nodes on the media the current state no
	// longer references and the last flushed state (the last Drop's, or
	// the opened root's) does, in the order they were superseded. A
	// WriteNodes reports a prefix of it; its Drop removes that prefix.
	freed []Ptr
	// flushes (under mu) counts the WriteNodes begun, so that Drop can
	// tell a Written that a later WriteNodes superseded.
	flushes uint64

	fmu        sync.Mutex // serializes flushes, which write without mu
	flushedGen uint64     // the generation of the last flush (or of the opened root)
}

// Snapshot is an immutable state of a tree: Get, iterators, Stats and
// Check on it see the tree as it was when the snapshot was taken. It stays
// valid however long it is kept, flushes included: nodes built in memory
// live as long as it references them. The nodes on the media it reaches
// are read through the tree's Loader, so they must stay where they are
// while it is in use (the later step that reuses the space of old
// checkpoints must keep the nodes live snapshots reach).
type Snapshot struct {
	t     *Tree
	root  *mnode // the root, when it is in memory
	ptr   Ptr    // the root on the media, when root is nil and the tree is not empty
	stats Stats
}

// New returns an empty tree. id is written into every node (and checked
// when one is read), cmp orders the keys (nil: bytes.Compare), and loader
// reads flushed nodes back (nil for a tree that is never flushed).
func New(id uint64, cmp Compare, loader Loader) *Tree {
	if cmp == nil {
		cmp = bytes.Compare
	}
	t := &Tree{id: id, cmp: cmp, loader: loader}
	t.snap.Store(&Snapshot{t: t})
	return t
}

// Open reopens a flushed tree from the Root a Flush returned. It reads and
// verifies the root node, so a checkpoint naming a node that is not there
// fails now rather than on the first read.
func Open(id uint64, cmp Compare, loader Loader, root Root) (*Tree, error) {
	t := New(id, cmp, loader)
	if root.Empty() {
		if root != (Root{}) {
			return nil, fmt.Errorf("%w: b-tree %d: an empty root with a pointer or counts (%+v)", ErrInconsistent, id, root)
		}
		return t, nil
	}
	if loader == nil {
		return nil, fmt.Errorf("b-tree %d: open a flushed tree without a loader", id)
	}
	if root.Stats.Height < 0 || root.Stats.Height > maxHeight {
		return nil, fmt.Errorf("%w: b-tree %d: root height %d", ErrInconsistent, id, root.Stats.Height)
	}
	if _, err := t.load(root.Ptr, uint8(root.Stats.Height-1)); err != nil {
		return nil, fmt.Errorf("b-tree %d: open: %w", id, err)
	}
	t.snap.Store(&Snapshot{t: t, ptr: root.Ptr, stats: root.Stats})
	t.flushedGen = root.Ptr.Gen
	return t, nil
}

// maxHeight: levels are a byte in the node format.
const maxHeight = 256

// ID returns the tree id.
func (t *Tree) ID() uint64 { return t.id }

// Snapshot returns the current state of the tree. It does not lock and
// costs nothing.
func (t *Tree) Snapshot() *Snapshot { return t.snap.Load() }

// Stats returns the current counts.
func (t *Tree) Stats() Stats { return t.Snapshot().stats }

// Get returns the value of key in the current state; see Snapshot.Get.
func (t *Tree) Get(key []byte) (value []byte, found bool, err error) {
	return t.Snapshot().Get(key)
}

// Iter returns an iterator over the current state; see Snapshot.Iter.
func (t *Tree) Iter() *Iter { return t.Snapshot().Iter() }

// Check verifies the current state; see Snapshot.Check.
func (t *Tree) Check() error { return t.Snapshot().Check() }

// Stats returns the snapshot's counts.
func (s *Snapshot) Stats() Stats { return s.stats }

// Get returns the value stored under key, which must not be modified.
// A missing key (including one the tree could not hold) is not an error;
// err reports a node that could not be read.
func (s *Snapshot) Get(key []byte) (value []byte, found bool, err error) {
	n, err := s.rootNode()
	for err == nil && n != nil && n.level > 0 {
		n, err = s.t.child(n, childIndex(s.t.cmp, n.children, key))
	}
	if err != nil {
		return nil, false, fmt.Errorf("b-tree %d: get: %w", s.t.id, err)
	}
	if n == nil {
		return nil, false, nil
	}
	if value, found, err = s.t.leafGet(n, key); err != nil {
		return nil, false, fmt.Errorf("b-tree %d: get: %w", s.t.id, err)
	}
	return value, found, nil
}

// rootNode returns the root, reading it if it is on the media; nil for an
// empty tree.
func (s *Snapshot) rootNode() (*mnode, error) {
	switch {
	case s.root != nil:
		return s.root, nil
	case s.stats.Height == 0:
		return nil, nil
	}
	return s.t.load(s.ptr, uint8(s.stats.Height-1))
}

// Put stores value under key, replacing any value the key had. The key
// and value are copied.
func (t *Tree) Put(key, value []byte) error {
	if err := t.Apply([]Mutation{{Key: key, Value: value}}); err != nil {
		return fmt.Errorf("b-tree %d: put: %w", t.id, err)
	}
	return nil
}

// Delete removes key and reports whether it was there.
func (t *Tree) Delete(key []byte) (existed bool, err error) {
	if len(key) == 0 || len(key) > MaxKey {
		return false, nil // such a key is never in the tree
	}
	o := &op{key: key, del: true}
	if err := t.update([]*op{o}); err != nil {
		return false, fmt.Errorf("b-tree %d: delete: %w", t.id, err)
	}
	return o.existed, nil
}

// Mutation is a put of Key and Value, or a delete of Key.
type Mutation struct {
	Key, Value []byte
	Delete     bool
}

// Apply makes the mutations, in order (a later one of a key wins), and
// publishes them at once: a snapshot sees all of them or none. Keys and
// values are copied. A batch costs one copy of each node on the paths it
// touches, so it is much cheaper than as many Puts.
func (t *Tree) Apply(muts []Mutation) error {
	ops := make([]*op, 0, len(muts))
	size := 0
	for _, m := range muts {
		if m.Delete {
			if err := CheckEntry(m.Key, nil); err != nil {
				return err
			}
			size += len(m.Key)
		} else {
			if err := CheckEntry(m.Key, m.Value); err != nil {
				return err
			}
			size += len(m.Key) + len(m.Value)
		}
	}
	// One allocation for every key and value; the tree never appends to
	// them.
	buf := make([]byte, 0, size)
	for _, m := range muts {
		o := &op{del: m.Delete}
		buf = append(buf, m.Key...)
		o.key = buf[len(buf)-len(m.Key) : len(buf) : len(buf)]
		if !m.Delete {
			buf = append(buf, m.Value...)
			o.value = buf[len(buf)-len(m.Value) : len(buf) : len(buf)]
		}
		ops = append(ops, o)
	}
	// Sorted by key, the last mutation of a key kept.
	sort.SliceStable(ops, func(i, j int) bool { return t.cmp(ops[i].key, ops[j].key) < 0 })
	kept := ops[:0]
	for i, o := range ops {
		if i+1 < len(ops) && t.cmp(o.key, ops[i+1].key) == 0 {
			continue
		}
		kept = append(kept, o)
	}
	return t.update(kept)
}

// load reads the node p points at, which the parent says is at level.
func (t *Tree) load(p Ptr, level uint8) (*mnode, error) {
	if t.loader == nil {
		return nil, fmt.Errorf("level %d node at %s is on the media and the tree has no loader", level, addrString(p.Addr))
	}
	exp := Expect{Tree: t.id, Level: level, Sum: p.Sum, Gen: p.Gen}
	nd, err := t.loader.Load(p, exp, t.cmp)
	if err != nil {
		return nil, fmt.Errorf("load level %d node at %s: %w", level, addrString(p.Addr), err)
	}
	// The loader verified the node through Decode. These checks are
	// cheap, and keep a faulty loader (a cache handing out the wrong
	// entry) from turning into wrong data or an index out of range.
	switch {
	case nd == nil:
		err = fmt.Errorf("%w: the loader returned no node", ErrCorrupt)
	case nd.Tree != exp.Tree || nd.Level != exp.Level || nd.Gen != exp.Gen:
		err = fmt.Errorf("%w: the loader returned a node of tree %d, level %d, generation %d", ErrMismatch, nd.Tree, nd.Level, nd.Gen)
	case level == 0 && len(nd.Children) > 0, level > 0 && (len(nd.Children) == 0 || len(nd.Entries) > 0):
		err = fmt.Errorf("%w: level %d node with %d entries and %d children", ErrCorrupt, level, len(nd.Entries), len(nd.Children))
	}
	if err != nil {
		return nil, fmt.Errorf("load level %d node at %s: %w", level, addrString(p.Addr), err)
	}
	return wrap(nd), nil
}

// child returns child i of internal node n, reading it if it is on the
// media.
func (t *Tree) child(n *mnode, i int) (*mnode, error) {
	if n.mem != nil && n.mem[i] != nil {
		return n.mem[i], nil
	}
	return t.load(n.children[i].Ptr, n.level-1)
}

func addrString(a Addr) string {
	return fmt.Sprintf("set %d offset %d (%d bytes)", a.Set, a.Off, a.Len)
}

// keyString shows a key in a message: quoted, and cut short if long.
func keyString(k []byte) string {
	if len(k) > 40 {
		return fmt.Sprintf("%q... (%d bytes)", k[:40], len(k))
	}
	return fmt.Sprintf("%q", k)
}
