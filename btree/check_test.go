package btree

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// handLeaf builds a leaf of entries prefix0, prefix1, ... with values of
// vlen bytes.
func handLeaf(prefix string, n, vlen int) *mnode {
	var es []Entry
	for i := 0; i < n; i++ {
		es = append(es, Entry{Key: []byte(fmt.Sprintf("%s%d", prefix, i)), Value: make([]byte, vlen)})
	}
	return newLeaf(es)
}

// handTree makes a tree of a hand-built root and stats.
func handTree(root *mnode, st Stats) *Tree {
	t := New(30, nil, nil)
	t.snap.Store(&Snapshot{t: t, root: root, stats: st})
	return t
}

// handStats counts a hand-built tree the way Check does, trusting it.
func handStats(n *mnode) Stats {
	st := Stats{Height: int(n.level) + 1}
	var walk func(n *mnode)
	walk = func(n *mnode) {
		if n.level == 0 {
			st.Leaves++
			for _, e := range n.entries {
				st.Entries++
				st.Bytes += uint64(len(e.Key) + len(e.Value))
			}
			return
		}
		st.Internal++
		for _, c := range n.mem {
			walk(c)
		}
	}
	walk(n)
	return st
}

// TestCheckCatchesBrokenTrees builds broken trees by hand, each breaking
// one rule, and wants Check to name the node and the problem.
func TestCheckCatchesBrokenTrees(t *testing.T) {
	// The base: a root over two leaves of about 5 KiB: valid.
	base := func() (l1, l2 *mnode, children []Child) {
		return handLeaf("a", 5, 1000), handLeaf("b", 5, 1000), []Child{{}, {Key: []byte("b0")}}
	}
	l1, l2, children := base()
	root := newInternal(1, children, []*mnode{l1, l2})
	mustCheck(t, handTree(root, handStats(root)))
	// A leaf below minSize is allowed (a flush of buffered puts that
	// shrank values writes one: buffered.go).
	root = newInternal(1, children, []*mnode{l1, handLeaf("b", 1, 10)})
	mustCheck(t, handTree(root, handStats(root)))

	cases := []struct {
		name, node, text string
		build            func() (*mnode, Stats)
	}{
		{"leaf keys out of order", "root/0", "is not after entry", func() (*mnode, Stats) {
			l1, l2, ch := base()
			es := clone(l1.entries)
			es[1], es[2] = es[2], es[1]
			r := newInternal(1, ch, []*mnode{newLeaf(es), l2})
			return r, handStats(r)
		}},
		{"key outside its range", "root/0", "not below the node's upper bound", func() (*mnode, Stats) {
			l1, l2, ch := base()
			es := append(clone(l1.entries), Entry{Key: []byte("c")})
			r := newInternal(1, ch, []*mnode{newLeaf(es), l2})
			return r, handStats(r)
		}},
		{"separators out of order", "root", "is not after child 1's", func() (*mnode, Stats) {
			l1, l2, _ := base()
			l3 := handLeaf("c", 5, 1000)
			r := newInternal(1, []Child{{}, {Key: []byte("c0")}, {Key: []byte("b0")}}, []*mnode{l1, l3, l2})
			return r, handStats(r)
		}},
		{"first key not empty", "root", "first child's key", func() (*mnode, Stats) {
			l1, l2, ch := base()
			ch[0].Key = []byte("a")
			r := newInternal(1, ch, []*mnode{l1, l2})
			return r, handStats(r)
		}},
		{"wrong level", "root/1", "at level 1, its parent implies 0", func() (*mnode, Stats) {
			l1, l2, ch := base()
			bad := *l2
			bad.level = 1
			r := newInternal(1, ch, []*mnode{l1, &bad})
			return r, handStats(newInternal(1, ch, []*mnode{l1, l2}))
		}},
		{"node referenced twice", "root/1", "the same node in memory as root/0", func() (*mnode, Stats) {
			l1, _, ch := base()
			r := newInternal(1, ch, []*mnode{l1, l1})
			return r, handStats(r)
		}},
		{"stats", "root", "its Stats say", func() (*mnode, Stats) {
			l1, l2, ch := base()
			r := newInternal(1, ch, []*mnode{l1, l2})
			st := handStats(r)
			st.Entries++
			return r, st
		}},
		{"leaf too large", "root", "it should have split", func() (*mnode, Stats) {
			r := handLeaf("a", 5, MaxValue)
			return r, handStats(r)
		}},
		{"internal node too small", "root/1", "it should have been rebalanced", func() (*mnode, Stats) {
			// A level 2 root over a full internal node and one of a
			// single child.
			big := make([]Child, 400)
			mem := make([]*mnode, 400)
			for i := range big {
				big[i].Key = []byte(fmt.Sprintf("a%03d", i))
				mem[i] = handLeaf(fmt.Sprintf("a%03d-", i), 1, 0)
			}
			big[0].Key = nil
			small := newInternal(1, []Child{{}}, []*mnode{handLeaf("b", 1, 10)})
			r := newInternal(2, []Child{{}, {Key: []byte("b")}}, []*mnode{newInternal(1, big, mem), small})
			return r, handStats(r)
		}},
		{"root with one child", "root", "it should have collapsed", func() (*mnode, Stats) {
			l1, _, _ := base()
			r := newInternal(1, []Child{{}}, []*mnode{l1})
			return r, handStats(r)
		}},
		{"empty leaf", "root", "empty leaf", func() (*mnode, Stats) {
			r := newLeaf(nil)
			return r, Stats{Height: 1, Leaves: 1}
		}},
		{"recorded size", "root/0", "recorded size", func() (*mnode, Stats) {
			l1, l2, ch := base()
			bad := *l1
			bad.size--
			r := newInternal(1, ch, []*mnode{&bad, l2})
			return r, handStats(r)
		}},
		{"bad entry", "root/0", "empty key", func() (*mnode, Stats) {
			l1, l2, ch := base()
			es := clone(l1.entries)
			es[0].Key = nil
			r := newInternal(1, ch, []*mnode{newLeaf(es), l2})
			return r, handStats(r)
		}},
	}
	for _, c := range cases {
		r, st := c.build()
		err := handTree(r, st).Check()
		if !errors.Is(err, ErrInconsistent) || !strings.Contains(err.Error(), "node "+c.node+" ") || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%s: %v\n\twant ErrInconsistent naming node %s and %q", c.name, err, c.node, c.text)
		}
	}

	// An empty tree that has counts.
	bad := New(30, nil, nil)
	bad.snap.Store(&Snapshot{t: bad, stats: Stats{Entries: 1}})
	if err := bad.Check(); !errors.Is(err, ErrInconsistent) {
		t.Errorf("empty tree with counts: %v", err)
	}
}

// TestCheckOnTheMedia: the rules that concern nodes on the media — an
// address referenced twice, a child newer than its parent — written by
// hand with the encoder.
func TestCheckOnTheMedia(t *testing.T) {
	store := newMemStore()
	write := func(n *Node) Ptr {
		b, sum, err := n.Encode(nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		a, err := store.Write(b)
		if err != nil {
			t.Fatal(err)
		}
		return Ptr{Addr: a, Sum: sum, Gen: n.Gen}
	}
	leafNode := func(prefix string, gen uint64) *Node {
		l := handLeaf(prefix, 5, 1000)
		return &Node{Tree: 31, Gen: gen, Entries: l.entries}
	}
	st := Stats{Height: 2, Leaves: 2, Internal: 1, Entries: 10, Bytes: 10 * 1002}
	open := func(root Ptr) *Tree {
		tr, err := Open(31, nil, store, Root{Ptr: root, Stats: st})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}

	a, b := write(leafNode("a", 1)), write(leafNode("b", 1))
	good := write(&Node{Tree: 31, Level: 1, Gen: 1, Children: []Child{{Ptr: a}, {Key: []byte("b0"), Ptr: b}}})
	mustCheck(t, open(good))

	twice := write(&Node{Tree: 31, Level: 1, Gen: 1, Children: []Child{{Ptr: a}, {Key: []byte("a9"), Ptr: a}}})
	if err := open(twice).Check(); !errors.Is(err, ErrInconsistent) || !strings.Contains(err.Error(), "node root/1 at set 1") || !strings.Contains(err.Error(), "the same address as root/0") {
		t.Errorf("address twice: %v", err)
	}

	newer := write(leafNode("b", 2))
	older := write(&Node{Tree: 31, Level: 1, Gen: 1, Children: []Child{{Ptr: a}, {Key: []byte("b0"), Ptr: newer}}})
	if err := open(older).Check(); !errors.Is(err, ErrInconsistent) || !strings.Contains(err.Error(), "generation 2, newer than its parent's 1") {
		t.Errorf("child newer than its parent: %v", err)
	}
}
