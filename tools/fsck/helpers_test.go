package fsck

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/btree"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/pool"
	"github.com/plinth-storage/plinth/superblock"
	"github.com/plinth-storage/plinth/tools/internal/benchrig"
	"github.com/plinth-storage/plinth/wal"
)

var ctx = context.Background()

const (
	testDrives  = 6
	driveSize   = 48 << 20
	segmentSize = 1 << 20
)

// testNode is a stopped node on files in a temporary directory: six
// conventional drives of 1 MiB segments (4+2 pool), the first three
// holding the metadata, with some objects written.
type testNode struct {
	t     *testing.T
	paths []string
	data  map[string][]byte // owner: content
}

// newNode formats a node, writes objects into its pool and stops it
// cleanly.
func newNode(t *testing.T) *testNode {
	t.Helper()
	n := &testNode{t: t, data: map[string][]byte{}}
	var err error
	if n.paths, err = benchrig.FormatFiles(t.TempDir(), testDrives, driveSize, segmentSize); err != nil {
		t.Fatal(err)
	}
	n.run(func(p *pool.Pool) {
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range 16 {
			owner := fmt.Sprintf("o/photos/img-%02d", i)
			b := make([]byte, 1+rng.IntN(400<<10))
			for j := range b {
				b[j] = byte(rng.Uint32())
			}
			if _, err := p.Put(ctx, []byte(owner), 1, bytes.NewReader(b)); err != nil {
				t.Fatal(err)
			}
			n.data[owner] = b
		}
		if err := p.Delete(ctx, []byte("o/photos/img-03"), 2); err != nil {
			t.Fatal(err)
		}
		delete(n.data, "o/photos/img-03")
	}, nil)
	return n
}

// run opens the node as a start does, runs fn on its pool, and stops it
// cleanly. crash, when set, is called while the node is still open (its
// writes acknowledged, no checkpoint since), to copy its drives.
func (n *testNode) run(fn func(*pool.Pool), crash func()) {
	n.t.Helper()
	node, err := appliance.OpenNode(n.paths)
	if err != nil {
		n.t.Fatal(err)
	}
	defer node.Close()
	st, err := node.OpenStore(store.Options{CheckpointInterval: -1, CheckpointBytes: 1 << 40})
	if err != nil {
		n.t.Fatal(err)
	}
	pools, err := node.OpenPools(ctx, st, pool.Options{Cleaner: pool.CleanerOptions{Manual: true}}, nil)
	if err != nil {
		n.t.Fatal(err)
	}
	fn(pools[0])
	if crash != nil {
		crash()
	}
	for _, p := range pools {
		if err := p.Close(); err != nil {
			n.t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		n.t.Fatal(err)
	}
}

// inspect opens the stopped node read-only and runs fn on its store and
// pool, to find where things are.
func (n *testNode) inspect(fn func(node *appliance.Node, st *store.Store, p *pool.Pool)) {
	n.t.Helper()
	node, err := appliance.OpenNode(n.paths)
	if err != nil {
		n.t.Fatal(err)
	}
	defer node.Close()
	st, err := node.OpenStoreReadOnly(store.Options{}, store.ReadOnlyOptions{})
	if err != nil {
		n.t.Fatal(err)
	}
	defer st.Close()
	pools, err := node.OpenPoolsReadOnly(ctx, st, pool.Options{})
	if err != nil {
		n.t.Fatal(err)
	}
	defer pools[0].Close()
	fn(node, st, pools[0])
}

// label reads drive i's label.
func (n *testNode) label(i int) superblock.Label {
	n.t.Helper()
	d, err := appliance.OpenDevice(n.paths[i])
	if err != nil {
		n.t.Fatal(err)
	}
	defer d.Close()
	lg, err := superblock.Open(d)
	if err != nil {
		n.t.Fatal(err)
	}
	return lg.Label()
}

// flip inverts the bits of one byte of drive i at off.
func (n *testNode) flip(i int, off int64) {
	n.t.Helper()
	f, err := os.OpenFile(n.paths[i], os.O_RDWR, 0)
	if err != nil {
		n.t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		n.t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, off); err != nil {
		n.t.Fatal(err)
	}
}

// write writes b to drive i at off.
func (n *testNode) write(i int, off int64, b []byte) {
	n.t.Helper()
	f, err := os.OpenFile(n.paths[i], os.O_RDWR, 0)
	if err != nil {
		n.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		n.t.Fatal(err)
	}
}

// digest hashes every drive file.
func (n *testNode) digest() []string {
	n.t.Helper()
	var out []string
	for _, p := range n.paths {
		f, err := os.Open(p)
		if err != nil {
			n.t.Fatal(err)
		}
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			n.t.Fatal(err)
		}
		f.Close()
		out = append(out, fmt.Sprintf("%x", h.Sum(nil)))
	}
	return out
}

// check runs fsck on the node's drives (all but those left out).
func (n *testNode) check(deep bool, leaveOut ...int) Report {
	n.t.Helper()
	var paths []string
	for i, p := range n.paths {
		if !slices.Contains(leaveOut, i) {
			paths = append(paths, p)
		}
	}
	var progress bytes.Buffer
	r, err := Check(ctx, Options{Drives: paths, Deep: deep, Progress: Lines(&progress)})
	if err != nil {
		n.t.Fatal(err)
	}
	if got := strings.Count(progress.String(), "\n"); got != len(Phases) {
		n.t.Fatalf("%d progress lines, want one per phase:\n%s", got, progress.String())
	}
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		n.t.Fatal(err)
	}
	n.t.Logf("fsck (deep %v):\n%s", deep, text.String())
	return r
}

// errorsIn returns the error findings.
func errorsIn(r Report) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Severity == SevError {
			out = append(out, f)
		}
	}
	return out
}

// leafOf finds a leaf node of a tree of the checkpoint.
func leafOf(t *testing.T, st *store.Store, tree string) btree.Ptr {
	t.Helper()
	v, err := st.View(tree)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	sn, err := v.Snapshot(tree)
	if err != nil {
		t.Fatal(err)
	}
	var leaf btree.Ptr
	if err := sn.Walk(func(p btree.Ptr, level uint8) error {
		if level == 0 && leaf == (btree.Ptr{}) {
			leaf = p
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if leaf == (btree.Ptr{}) {
		t.Fatalf("tree %s has no leaf on the media", tree)
	}
	return leaf
}

// firstSet is the pool's set with the lowest id.
func firstSet(t *testing.T, p *pool.Pool) alloc.Set {
	t.Helper()
	var first alloc.Set
	for s, err := range p.Allocator().Sets(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if first.ID == 0 || s.ID < first.ID {
			first = s
		}
	}
	if first.ID == 0 {
		t.Fatal("no set")
	}
	return first
}

// newestTail is where the journal's newest segment ends on mirror m.
func newestTail(t *testing.T, st *store.Store, mirror string) wal.MirrorTail {
	t.Helper()
	for _, tl := range st.Journal().Tails() {
		if tl.Mirror == mirror {
			if tl.Err != nil {
				t.Fatal(tl.Err)
			}
			return tl
		}
	}
	t.Fatalf("no journal tail on %s", mirror)
	return wal.MirrorTail{}
}
