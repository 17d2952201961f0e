package beck

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/appliance/objects"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/datalog"
	"github.com/plinth-storage/plinth/hlc"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/zonemu"
	"github.com/plinth-storage/plinth/pool"
	"github.com/plinth-storage/plinth/seg"
	"github.com/plinth-storage/plinth/stripe"
	"github.com/plinth-storage/plinth/superblock"
	"github.com/plinth-storage/plinth/tools/fsck"
	"github.com/plinth-storage/plinth/tools/internal/benchrig"
)

var ctx = context.Background()

const (
	testDrives  = 6
	driveSize   = 48 << 20
	testSegment = 1 << 20
)

// object is what the model expects of an object.
type object struct {
	info objects.ObjectInfo
	data []byte
}

// testNode is a stopped node on files in a temporary directory: six
// conventional drives of 1 MiB segments (one 4+2 pool), the first three
// holding the metadata, written through the object store.
type testNode struct {
	t       *testing.T
	paths   []string
	objects map[string]object // "bucket/key"
	deleted map[string]bool   // "bucket/key"
	buckets map[string]bool   // buckets holding objects
}

// newNode formats a node and writes a workload: three buckets, objects
// of sizes around the record and stripe boundaries with content types and
// user metadata, overwrites and deletes.
func newNode(t *testing.T) *testNode {
	t.Helper()
	return newNodeOf(t, testDrives)
}

// newNodeOf is newNode with drives drives (the default pool's layout is
// the one for their number); 0: six drives, formatted and started once,
// nothing written.
func newNodeOf(t *testing.T, drives int) *testNode {
	t.Helper()
	empty := drives == 0
	if empty {
		drives = testDrives
	}
	n := &testNode{t: t, objects: map[string]object{}, deleted: map[string]bool{}, buckets: map[string]bool{}}
	var err error
	if n.paths, err = benchrig.FormatFiles(t.TempDir(), drives, driveSize, testSegment); err != nil {
		t.Fatal(err)
	}
	if empty {
		n.run(func(*objects.Store) {})
		return n
	}
	n.workload()
	return n
}

// newZonedNode is newNode on six emulated host-managed SMR drives of 40
// zones of 4 MiB.
func newZonedNode(t *testing.T) *testNode {
	t.Helper()
	n := &testNode{t: t, objects: map[string]object{}, deleted: map[string]bool{}, buckets: map[string]bool{}}
	cfg := zonemu.Config{ZoneSize: 4 << 20, ZoneCapacity: 4 << 20, NrZones: 40, NrConventional: 2,
		MaxOpenZones: 8, LogicalBlockSize: 4096, Behavior: zonemu.BehaviorSMR}
	paths, _, err := appliance.EnsureDefault(filepath.Join(t.TempDir(), "data"), appliance.DefaultOptions{Drives: testDrives, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	n.paths = paths
	n.workload()
	return n
}

// workload writes the objects of the model.
func (n *testNode) workload() {
	t := n.t
	n.run(func(obj *objects.Store) {
		rng := rand.New(rand.NewPCG(7, 9))
		sizes := []int{0, 1, 100, 4087, 4088, 4089, 64 << 10, 523264 - 60, 523264, 523264 + 1, 700 << 10, 1 << 20}
		for i, b := range []string{"photos", "docs", "empty-later"} {
			if _, err := obj.CreateBucket(ctx, b); err != nil {
				t.Fatal(err)
			}
			for j, size := range sizes {
				if (i+j)%3 == 2 && size > 100<<10 {
					continue // keep the node small
				}
				key := fmt.Sprintf("dir/item-%02d", j)
				n.put(obj, rng, b, key, size, j)
			}
		}
		// Overwrites: newer versions replace older ones (and their size).
		n.put(obj, rng, "photos", "dir/item-03", 9000, 100)
		n.put(obj, rng, "docs", "dir/item-06", 70000, 101)
		n.put(obj, rng, "photos", "dir/item-03", 300, 102)
		// Deletes: tombstones, of objects with data, and of one never written.
		for _, k := range []string{"photos/dir/item-01", "docs/dir/item-08", "docs/never-written"} {
			b, key, _ := strings.Cut(k, "/")
			if _, err := obj.Delete(ctx, b, key, 0); err != nil {
				t.Fatal(err)
			}
			delete(n.objects, k)
			n.deleted[k] = true
		}
		// A bucket whose objects are all deleted is not found again.
		for _, o := range obj.Buckets() {
			if o.Name != "empty-later" {
				continue
			}
			for k := range n.objects {
				if b, key, _ := strings.Cut(k, "/"); b == "empty-later" {
					if _, err := obj.Delete(ctx, b, key, 0); err != nil {
						t.Fatal(err)
					}
					delete(n.objects, k)
					n.deleted[k] = true
				}
			}
		}
	})
	for k := range n.objects {
		b, _, _ := strings.Cut(k, "/")
		n.buckets[b] = true
	}
}

// put writes one object with attributes and records it in the model.
func (n *testNode) put(obj *objects.Store, rng *rand.Rand, bucket, key string, size, salt int) {
	n.t.Helper()
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	o := objects.PutOptions{Size: int64(size), ContentType: fmt.Sprintf("application/x-test-%d", salt)}
	if salt%2 == 0 {
		o.Metadata = map[string]string{"owner": fmt.Sprintf("user-%d", salt), "colour": "blue"}
	}
	if _, err := obj.Put(ctx, bucket, key, bytes.NewReader(data), o); err != nil {
		n.t.Fatal(err)
	}
	info, err := obj.Head(bucket, key)
	if err != nil {
		n.t.Fatal(err)
	}
	n.objects[bucket+"/"+key] = object{info: info, data: data}
}

// run opens the node as a start does, runs fn on its object store, and
// stops it cleanly.
func (n *testNode) run(fn func(*objects.Store), leaveOut ...int) {
	n.t.Helper()
	n.runWith(pool.Options{Cleaner: pool.CleanerOptions{Manual: true}}, func(obj *objects.Store, _ []*pool.Pool) { fn(obj) }, leaveOut...)
}

// runWith is run with the pools' options, giving fn the pools too.
func (n *testNode) runWith(opts pool.Options, fn func(*objects.Store, []*pool.Pool), leaveOut ...int) {
	n.t.Helper()
	n.runNode(opts, func(_ *store.Store, obj *objects.Store, pools []*pool.Pool) { fn(obj, pools) }, leaveOut...)
}

// runNode is runWith giving fn the metadata store too.
func (n *testNode) runNode(opts pool.Options, fn func(*store.Store, *objects.Store, []*pool.Pool), leaveOut ...int) {
	n.t.Helper()
	node, err := appliance.OpenNode(n.drivePaths(leaveOut...))
	if err != nil {
		n.t.Fatal(err)
	}
	defer node.Close()
	st, err := node.OpenStore(store.Options{})
	if err != nil {
		n.t.Fatal(err)
	}
	pools, err := node.OpenPools(ctx, st, opts, nil)
	if err != nil {
		n.t.Fatal(err)
	}
	obj, err := objects.Open(ctx, st, objects.Options{Pools: pools, Clock: hlc.New(0, hlc.Options{})})
	if err != nil {
		n.t.Fatal(err)
	}
	fn(st, obj, pools)
	for _, p := range pools {
		if err := p.Close(); err != nil {
			n.t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		n.t.Fatal(err)
	}
}

// drivePaths is every drive's path but those left out.
func (n *testNode) drivePaths(leaveOut ...int) []string {
	var out []string
	for i, p := range n.paths {
		if !slices.Contains(leaveOut, i) {
			out = append(out, p)
		}
	}
	return out
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

// wipeMetadata zeroes the journal ring and the metadata segments of every
// metadata mirror: every copy of the metadata is gone.
func (n *testNode) wipeMetadata() {
	n.t.Helper()
	for i := range n.paths {
		l := n.label(i)
		if !l.Meta.Holds() {
			continue
		}
		f, err := os.OpenFile(n.paths[i], os.O_RDWR, 0)
		if err != nil {
			n.t.Fatal(err)
		}
		zero := make([]byte, l.SegmentSize)
		for _, r := range [][2]uint32{{l.RingFirst, l.RingCount}, {l.SegFirst, l.SegCount}} {
			for s := r[0]; s < r[0]+r[1]; s++ {
				if _, err := f.WriteAt(zero, l.SegmentOffset(s)); err != nil {
					n.t.Fatal(err)
				}
			}
		}
		f.Close()
	}
}

// rebuild runs the rebuild on the node's drives but those left out.
func (n *testNode) rebuild(o Options, leaveOut ...int) (Report, error) {
	n.t.Helper()
	o.Drives = n.drivePaths(leaveOut...)
	var progress bytes.Buffer
	if o.Progress == nil {
		o.Progress = fsck.Lines(&progress)
	}
	r, err := Rebuild(ctx, o)
	n.t.Logf("progress:\n%s", progress.String())
	if err == nil {
		var text bytes.Buffer
		if werr := r.WriteText(&text); werr != nil {
			n.t.Fatal(werr)
		}
		n.t.Logf("report:\n%s", text.String())
	}
	return r, err
}

// verify opens the node (without the drives left out) and checks every
// object against the model: bytes and attributes equal, deleted objects
// not found, the buckets those holding objects.
func (n *testNode) verify(leaveOut ...int) {
	n.t.Helper()
	n.verifyWith(n.buckets, leaveOut...)
}

// verifyWith is verify, expecting the buckets given.
func (n *testNode) verifyWith(buckets map[string]bool, leaveOut ...int) {
	n.t.Helper()
	n.run(func(obj *objects.Store) {
		var names []string
		for _, b := range obj.Buckets() {
			names = append(names, b.Name)
		}
		if want := slices.Sorted(maps.Keys(buckets)); !slices.Equal(names, want) {
			n.t.Errorf("buckets %v, want %v", names, want)
		}
		for _, k := range slices.Sorted(maps.Keys(n.objects)) {
			want := n.objects[k]
			b, key, _ := strings.Cut(k, "/")
			got, err := obj.Head(b, key)
			if err != nil {
				n.t.Errorf("%s: %v", k, err)
				continue
			}
			if !sameInfo(got, want.info) {
				n.t.Errorf("%s: info %+v, want %+v", k, got, want.info)
			}
			r, err := obj.Open(ctx, b, key, 0, -1)
			if err != nil {
				n.t.Errorf("%s: open: %v", k, err)
				continue
			}
			data, err := io.ReadAll(r)
			r.Close()
			if err != nil || !bytes.Equal(data, want.data) {
				n.t.Errorf("%s: read %d bytes (%v), want %d", k, len(data), err, len(want.data))
			}
		}
		for k := range n.deleted {
			b, key, _ := strings.Cut(k, "/")
			if _, err := obj.Head(b, key); !errors.Is(err, objects.ErrNotFound) && !errors.Is(err, objects.ErrNoBucket) {
				n.t.Errorf("deleted %s: %v", k, err)
			}
		}
	}, leaveOut...)
}

func sameInfo(a, b objects.ObjectInfo) bool {
	return a.Bucket == b.Bucket && a.Key == b.Key && a.Size == b.Size && a.Version == b.Version && a.ETag == b.ETag &&
		a.ContentType == b.ContentType && maps.Equal(a.Metadata, b.Metadata) && a.Modified.Equal(b.Modified)
}

// check runs fsck on the node's drives but those left out and returns
// its error findings.
func (n *testNode) check(leaveOut ...int) []fsck.Finding {
	n.t.Helper()
	r, err := fsck.Check(ctx, fsck.Options{Drives: n.drivePaths(leaveOut...), Deep: true})
	if err != nil {
		n.t.Fatal(err)
	}
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		n.t.Fatal(err)
	}
	n.t.Logf("fsck:\n%s", text.String())
	var errs []fsck.Finding
	for _, f := range r.Findings {
		if f.Severity == fsck.SevError {
			errs = append(errs, f)
		}
	}
	return errs
}

// destroyStripeOf overwrites, on every member of its set, the stripe
// holding byte off of object k's data: more units than parity rebuilds.
// With keepFirst, data member 0's unit is left alone (the other three of
// the 4+2 layout are still more than parity rebuilds). It finds the
// stripe by the object's bytes on the drives.
func (n *testNode) destroyStripeOf(k string, off int, keepFirst bool) {
	n.t.Helper()
	data := n.objects[k].data
	const unit = 128 << 10
	type member struct {
		path  string
		start int64 // the segment's start
		loc   seg.Location
		gen   uint64
	}
	sets := map[uint64][]member{}
	var hitSet uint64
	hitStripe := int64(-1)
	for i, path := range n.paths {
		l := n.label(i)
		d, err := appliance.OpenDevice(path)
		if err != nil {
			n.t.Fatal(err)
		}
		for s := uint32(0); s < l.NrSegments; s++ {
			if s >= l.RingFirst && s < l.RingFirst+l.RingCount || s >= l.SegFirst && s < l.SegFirst+l.SegCount {
				continue
			}
			loc, err := seg.Locate(d, l.Layout, s)
			if err != nil {
				n.t.Fatal(err)
			}
			sc, err := seg.Scan(loc, seg.Expect{Kind: seg.KindData})
			if err != nil {
				continue
			}
			id := sc.Header().Set
			sets[id] = append(sets[id], member{path, loc.Start, loc, sc.Header().Generation})
			b := make([]byte, loc.Capacity)
			if _, err := d.ReadAt(b, loc.Start); err != nil {
				n.t.Fatal(err)
			}
			// 64 bytes that may straddle a block's tag: try a few.
			for try := 0; try < 4 && hitStripe < 0; try++ {
				if at := bytes.Index(b, data[off+100*try:off+100*try+64]); at >= 0 {
					hitSet, hitStripe = id, (int64(at)-4096)/unit
				}
			}
		}
		d.Close()
	}
	if hitStripe < 0 {
		n.t.Fatalf("%s byte %d not found on the drives", k, off)
	}
	junk := bytes.Repeat([]byte{0xa5}, unit)
	var devs []dev.Device
	defer func() {
		for _, d := range devs {
			d.Close()
		}
	}()
	for _, m := range sets[hitSet] {
		if keepFirst {
			d, err := appliance.OpenDevice(m.path)
			if err != nil {
				n.t.Fatal(err)
			}
			m.loc.Dev = d
			role, err := datalog.ProbeDataMember(datalog.Member{Loc: m.loc, Generation: m.gen}, hitSet, stripe.Layout{N: 4, K: 2, Unit: unit}, hitStripe)
			d.Close()
			if err != nil {
				n.t.Fatal(err)
			}
			if role == 0 || role < 0 {
				continue
			}
		}
		f, err := os.OpenFile(m.path, os.O_RDWR, 0)
		if err != nil {
			n.t.Fatal(err)
		}
		if _, err := f.WriteAt(junk, m.start+4096+hitStripe*unit); err != nil {
			n.t.Fatal(err)
		}
		f.Close()
	}
}

// digest hashes every drive file.
func (n *testNode) digest() []string {
	n.t.Helper()
	var out []string
	for _, p := range n.paths {
		b, err := os.ReadFile(p)
		if err != nil {
			n.t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%x", sha256.Sum256(b)))
	}
	return out
}
