package fsck

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/appliance/objects"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/datalog"
	"github.com/plinth-storage/plinth/hlc"
	"github.com/plinth-storage/plinth/pool"
	"github.com/plinth-storage/plinth/seg"
	"github.com/plinth-storage/plinth/tools/internal/benchrig"
)

// bucket is the test nodes' bucket.
const bucket = "photos"

// newObjectNode formats a node like newNode, but writes its objects
// through the object store: bucket "photos", 16 objects, one deleted.
// The model (n.data) is keyed by pool owner, "o/photos/" + key.
func newObjectNode(t *testing.T) *testNode {
	t.Helper()
	n := &testNode{t: t, data: map[string][]byte{}}
	var err error
	if n.paths, err = benchrig.FormatFiles(t.TempDir(), testDrives, driveSize, segmentSize); err != nil {
		t.Fatal(err)
	}
	n.objects(func(os *objects.Store, _ *pool.Pool, _ *store.Store) {
		if _, err := os.CreateBucket(ctx, bucket); err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range 16 {
			b := make([]byte, 1+rng.IntN(400<<10))
			for j := range b {
				b[j] = byte(rng.Uint32())
			}
			n.putObject(os, fmt.Sprintf("img-%02d", i), b)
		}
		key := "img-03"
		if _, err := os.Delete(ctx, bucket, key, 0); err != nil {
			t.Fatal(err)
		}
		delete(n.data, "o/"+bucket+"/"+key)
	})
	return n
}

func (n *testNode) putObject(os *objects.Store, key string, b []byte) {
	n.t.Helper()
	if _, err := os.Put(ctx, bucket, key, bytes.NewReader(b), objects.PutOptions{Size: int64(len(b)), ContentType: "image/jpeg"}); err != nil {
		n.t.Fatal(err)
	}
	n.data["o/"+bucket+"/"+key] = b
}

// objects opens the node as a start does (all drives but leaveOut), runs
// fn on its object store, and stops it cleanly.
func (n *testNode) objects(fn func(*objects.Store, *pool.Pool, *store.Store), leaveOut ...int) {
	n.t.Helper()
	var paths []string
	for i, p := range n.paths {
		if !slices.Contains(leaveOut, i) {
			paths = append(paths, p)
		}
	}
	node, err := appliance.OpenNode(paths)
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
	os, err := objects.Open(ctx, st, objects.Options{Clock: hlc.New(0, hlc.Options{}), Pools: pools})
	if err != nil {
		n.t.Fatal(err)
	}
	fn(os, pools[0], st)
	for _, p := range pools {
		if err := p.Close(); err != nil {
			n.t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		n.t.Fatal(err)
	}
}

// sameAsModel opens the node with the object store and compares every
// object with the model, bytes and listing (all drives but leaveOut).
func (n *testNode) sameAsModel(leaveOut ...int) {
	n.t.Helper()
	n.objects(func(os *objects.Store, _ *pool.Pool, _ *store.Store) {
		res, err := os.List(ctx, bucket, objects.ListOptions{})
		if err != nil {
			n.t.Fatal(err)
		}
		var listed, want []string
		for _, o := range res.Objects {
			listed = append(listed, "o/"+bucket+"/"+o.Key)
		}
		want = slices.Sorted(maps.Keys(n.data))
		if !slices.Equal(listed, want) {
			n.t.Fatalf("the bucket lists %q, the model %q", listed, want)
		}
		for owner, b := range n.data {
			key := strings.TrimPrefix(owner, "o/"+bucket+"/")
			r, err := os.Open(ctx, bucket, key, 0, -1)
			if err != nil {
				n.t.Fatalf("open %s: %v", key, err)
			}
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil || !bytes.Equal(got, b) {
				n.t.Fatalf("read %s: %d bytes, want %d (equal %v): %v", key, len(got), len(b), bytes.Equal(got, b), err)
			}
		}
	}, leaveOut...)
}

// repair runs Repair on the node's drives (all but leaveOut).
func (n *testNode) repair(o RepairOptions, leaveOut ...int) Report {
	n.t.Helper()
	for i, p := range n.paths {
		if !slices.Contains(leaveOut, i) {
			o.Drives = append(o.Drives, p)
		}
	}
	var log bytes.Buffer
	o.Log = &log
	r, err := Repair(ctx, o)
	if err != nil {
		n.t.Fatal(err)
	}
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		n.t.Fatal(err)
	}
	n.t.Logf("fsck --repair (deep %v, dry run %v):\n%s%s", o.Deep, o.DryRun, log.String(), text.String())
	return r
}

// repaired asserts a repair that fixed everything it found: exit 1, every
// finding of the first check fixed, nothing new; then a check (deep as
// given) finds nothing but notes, and the objects read back as the model.
func (n *testNode) repaired(r Report, deep bool) {
	n.t.Helper()
	if r.ExitCode != ExitCorrected || r.Repair == nil || r.Repair.Left != 0 {
		n.t.Fatalf("repair: exit %d, summary %+v", r.ExitCode, r.Repair)
	}
	for _, f := range r.Findings {
		if f.Status != StatusFixed {
			n.t.Fatalf("finding %+v not fixed", f)
		}
	}
	for _, a := range r.Repair.Actions {
		if a.Status != actionDone {
			n.t.Fatalf("repair %+v", a)
		}
	}
	again := n.check(deep)
	if again.ExitCode != ExitClean || len(errorsIn(again)) != 0 {
		n.t.Fatalf("the check after the repair: exit %d, %+v", again.ExitCode, again.Findings)
	}
	for _, f := range again.Findings {
		if f.Severity != SevInfo || f.Phase != PhaseDeep {
			n.t.Fatalf("the check after the repair finds %+v", f)
		}
	}
	n.sameAsModel()
}

// orphanSet opens the node as a start does and leaves a sealed set with
// nothing live, as a crash between the commit that emptied a set and its
// release does: a new set of the pool, its member headers written, sealed.
func (n *testNode) orphanSet() {
	n.t.Helper()
	node, err := appliance.OpenNode(n.paths)
	if err != nil {
		n.t.Fatal(err)
	}
	defer node.Close()
	st, err := node.OpenStore(store.Options{CheckpointInterval: -1})
	if err != nil {
		n.t.Fatal(err)
	}
	defer st.Close()
	pools, err := node.OpenPools(ctx, st, pool.Options{Cleaner: pool.CleanerOptions{Manual: true}}, nil)
	if err != nil {
		n.t.Fatal(err)
	}
	p := pools[0]
	defer p.Close()
	l := p.Layout()
	s, err := p.Allocator().NewSet(ctx, alloc.EC(l.N, l.K), 0)
	if err != nil {
		n.t.Fatal(err)
	}
	ds := datalog.Set{ID: uint64(s.ID), Layout: l}
	for _, m := range s.Members {
		d := node.Drives[m.Drive]
		lb := d.Label.Label()
		loc, err := seg.Locate(d.Dev, lb.Layout, m.Segment)
		if err != nil {
			n.t.Fatal(err)
		}
		ds.Members = append(ds.Members, datalog.Member{Loc: loc, Node: lb.Node, Drive: lb.Drive, Generation: m.Gen})
	}
	w, err := datalog.Create(ds)
	if err != nil {
		n.t.Fatal(err)
	}
	if err := w.Finish(); err != nil {
		n.t.Fatal(err)
	}
	if err := p.Allocator().Seal(ctx, s.ID); err != nil {
		n.t.Fatal(err)
	}
}
