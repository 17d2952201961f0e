package beck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/appliance/objects"
	"github.com/plinth-storage/plinth/stripe"

	"github.com/plinth-storage/plinth/tools/fsck"
)

// Every metadata copy wiped: the rebuild makes a fresh store from the
// data logs; every object reads back equal, bytes and attributes; deleted
// objects stay deleted; fsck finds nothing.
func TestRebuildWipedMetadata(t *testing.T) {
	n := newNode(t)
	n.wipeMetadata()
	r, err := n.rebuild(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitCode != fsck.ExitCorrected || len(r.Lost) != 0 || r.Counters.NoAttrs != 0 || r.Resumed {
		t.Fatalf("report %+v", r)
	}
	if want := int64(len(n.objects)); r.Counters.Objects != want {
		t.Errorf("%d objects restored, want %d", r.Counters.Objects, want)
	}
	n.verify()
	if errs := n.check(); len(errs) != 0 {
		t.Fatalf("fsck after the rebuild: %+v", errs)
	}
}

// A readable store is not replaced without Yes.
func TestRebuildRefusesReadableStore(t *testing.T) {
	n := newNode(t)
	if _, err := n.rebuild(Options{}); !errors.Is(err, ErrStoreReadable) {
		t.Fatalf("rebuild of a readable store: %v", err)
	}
	n.verifyWith(map[string]bool{"photos": true, "docs": true, "empty-later": true}) // untouched
	r, err := n.rebuild(Options{Yes: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitCode != fsck.ExitCorrected {
		t.Fatalf("report %+v", r)
	}
	n.verify()
	if errs := n.check(); len(errs) != 0 {
		t.Fatalf("fsck after the rebuild: %+v", errs)
	}
}

// Every metadata copy wiped and a data drive missing: the sets are read
// through parity (the lost member's generation recovered from the
// rebuilt blocks), every object reads back equal, and fsck finds only
// the missing drive.
func TestRebuildMissingDrive(t *testing.T) {
	n := newNode(t)
	n.wipeMetadata()
	const gone = 4
	r, err := n.rebuild(Options{}, gone)
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitCode != fsck.ExitCorrected || len(r.Lost) != 0 || len(r.Pools) != 1 || r.Pools[0].SetsDegraded == 0 ||
		r.Pools[0].SetsDegraded != r.Pools[0].Sets {
		t.Fatalf("report %+v", r)
	}
	n.verify(gone)
	for _, f := range n.check(gone) {
		if f.Where.Position == nil || *f.Where.Position != gone {
			t.Errorf("fsck after the rebuild: %+v at %s", f, f.Where)
		}
	}
}

// cancelAt is a progress that cancels the rebuild once phase p has done
// at least half of its work (or, with no total known, once it reports
// any).
type cancelAt struct {
	fsck.Progress
	p      fsck.Phase
	cancel context.CancelFunc
}

func (c cancelAt) Begin(p fsck.Phase, i, n int, total int64, unit string) fsck.Bar {
	bar := c.Progress.Begin(p, i, n, total, unit)
	if p != c.p {
		return bar
	}
	return cancelBar{Bar: bar, cancel: c.cancel}
}

type cancelBar struct {
	fsck.Bar
	cancel context.CancelFunc
}

func (c cancelBar) Update(done, total int64) {
	c.Bar.Update(done, total)
	if done > 0 && (total <= 0 || 2*done >= total) {
		c.cancel()
	}
}

// A rebuild interrupted in the scan, or in the index, resumes from its
// progress record (without --yes: the store is its own) and gives the
// same result.
func TestRebuildResumes(t *testing.T) {
	for _, p := range []fsck.Phase{PhaseScan, PhaseIndex} {
		t.Run(string(p), func(t *testing.T) {
			n := newNode(t)
			n.wipeMetadata()
			var progress bytes.Buffer
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			_, err := Rebuild(cctx, Options{Drives: n.paths, BatchRecords: 5,
				Progress: cancelAt{Progress: fsck.Lines(&progress), p: p, cancel: cancel}})
			t.Logf("interrupted run:\n%s", progress.String())
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("interrupted rebuild: %v", err)
			}
			r, err := n.rebuild(Options{BatchRecords: 5})
			if err != nil {
				t.Fatal(err)
			}
			if !r.Resumed || r.ExitCode != fsck.ExitCorrected || r.Counters.Objects != int64(len(n.objects)) {
				t.Fatalf("resumed: %+v", r)
			}
			n.verify()
			if errs := n.check(); len(errs) != 0 {
				t.Fatalf("fsck after the rebuild: %+v", errs)
			}
		})
	}
}

// The embedded default's kind of node: emulated host-managed SMR drives,
// where a set's end comes from its zones' write pointers and metadata
// segments are zones to reset.
func TestRebuildZoned(t *testing.T) {
	n := newZonedNode(t)
	n.wipeMetadata()
	r, err := n.rebuild(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitCode != fsck.ExitCorrected || len(r.Lost) != 0 || r.Counters.Objects != int64(len(n.objects)) {
		t.Fatalf("report %+v", r)
	}
	n.verify()
	if errs := n.check(); len(errs) != 0 {
		t.Fatalf("fsck after the rebuild: %+v", errs)
	}
	// The node goes on: writes after the rebuild, then a second rebuild
	// finds them too.
	n.run(func(obj *objects.Store) {
		n.put(obj, rand.New(rand.NewPCG(3, 3)), "photos", "after/rebuild", 200<<10, 7)
	})
	n.wipeMetadata()
	if _, err := n.rebuild(Options{}); err != nil {
		t.Fatal(err)
	}
	n.verify()
}

// A stripe lost beyond what parity rebuilds: its records are gone, and
// the objects they held are reported lost by bucket and key (exit status
// 4); everything else is restored, and fsck finds the store consistent.
func TestRebuildLostStripe(t *testing.T) {
	n := newNode(t)
	n.wipeMetadata()
	const big = "docs/dir/item-11" // 1 MiB: three stripes
	n.destroyStripeOf(big, 600<<10, false)
	r, err := n.rebuild(Options{})
	if err != nil {
		t.Fatal(err)
	}
	// (The stripe may be the last its set wrote: then it reads as never
	// written, and only the object missing bytes says it is gone.)
	if r.ExitCode != fsck.ExitErrors || !slices.ContainsFunc(r.Lost, func(l Lost) bool { return l.Bucket+"/"+l.Key == big && strings.Contains(l.Why, "missing bytes") }) {
		t.Fatalf("report %+v", r)
	}
	// Objects whose every record was in the stripe are not found at all:
	// nothing names them any more (the damaged stripe is reported).
	var vanished []string
	for _, l := range r.Lost {
		k := l.Bucket + "/" + l.Key
		if l.Bucket == "" || l.Why == "" {
			t.Fatalf("lost %+v", l)
		}
		if _, ok := n.objects[k]; !ok && !n.deleted[k] {
			t.Fatalf("lost %+v: not in the model", l)
		}
		if _, ok := n.objects[k]; ok {
			delete(n.objects, k)
			n.deleted[k] = true // not found after the rebuild
		}
	}
	for _, note := range r.Notes {
		for k := range n.objects {
			b, key, _ := strings.Cut(k, "/")
			if strings.Contains(note, fmt.Sprintf("object %q in bucket %q restored", key, b)) {
				delete(n.objects, k) // an older version: not the model's
			}
		}
	}
	n.run(func(obj *objects.Store) {
		for k := range n.objects {
			b, key, _ := strings.Cut(k, "/")
			if _, err := obj.Head(b, key); errors.Is(err, objects.ErrNotFound) {
				vanished = append(vanished, k)
				delete(n.objects, k)
			}
		}
	})
	t.Logf("objects wholly in the damaged stripe: %v", vanished)
	n.buckets = map[string]bool{}
	for k := range n.objects {
		b, _, _ := strings.Cut(k, "/")
		n.buckets[b] = true
	}
	n.verify()
	if errs := n.check(); len(errs) != 0 {
		t.Fatalf("fsck after the rebuild: %+v", errs)
	}
}

// A node of three drives (a 1+2 layout: the parity units are copies of
// the data unit), metadata wiped, with each drive missing in turn: the
// data member too.
func TestRebuildMirror(t *testing.T) {
	for _, gone := range []int{-1, 0, 2} {
		t.Run(fmt.Sprintf("missing %d", gone), func(t *testing.T) {
			n := newNodeOf(t, 3)
			n.wipeMetadata()
			var leaveOut []int
			if gone >= 0 {
				leaveOut = []int{gone}
			}
			r, err := n.rebuild(Options{}, leaveOut...)
			if err != nil {
				t.Fatal(err)
			}
			if r.ExitCode != fsck.ExitCorrected || len(r.Lost) != 0 || r.Counters.Objects != int64(len(n.objects)) {
				t.Fatalf("report %+v", r)
			}
			n.verify(leaveOut...)
			for _, f := range n.check(leaveOut...) {
				if f.Where.Position == nil || *f.Where.Position != gone {
					t.Errorf("fsck after the rebuild: %+v at %s", f, f.Where)
				}
			}
		})
	}
}

// A stripe with three of its four data units destroyed: the records in
// the good unit are salvaged, and the object whose record header is
// there but whose bytes are not is named lost, not dropped.
func TestRebuildSalvagesStripe(t *testing.T) {
	n := newNode(t)
	n.wipeMetadata()
	const big = "docs/dir/item-11"
	n.destroyStripeOf(big, 600<<10, true)
	r, err := n.rebuild(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitCode != fsck.ExitErrors || len(r.Damaged) != 1 || r.Damaged[0].DamagedRecords == 0 ||
		!slices.ContainsFunc(r.Lost, func(l Lost) bool {
			return l.Bucket+"/"+l.Key == big && strings.Contains(l.Why, "damaged beyond repair")
		}) {
		t.Fatalf("report %+v", r)
	}
	for _, l := range r.Lost {
		delete(n.objects, l.Bucket+"/"+l.Key)
	}
	n.verify()
	if errs := n.check(); len(errs) != 0 {
		t.Fatalf("fsck after the rebuild: %+v", errs)
	}
}

// A configuration whose layout is not the one the node ran with stops
// the rebuild before it writes anything; the right one rebuilds.
func TestRebuildWrongLayout(t *testing.T) {
	n := newNode(t)
	n.wipeMetadata()
	before := n.digest()
	for _, l := range []stripe.Layout{{N: 2, K: 2, Unit: 128 << 10}, {N: 4, K: 2, Unit: 64 << 10}, {N: 3, K: 3, Unit: 128 << 10}} {
		wrong := []appliance.PoolSpec{{Name: "default", Layout: l}}
		if _, err := n.rebuild(Options{Pools: wrong}); !errors.Is(err, ErrLayout) {
			t.Fatalf("wrong layout %s: %v", l, err)
		}
	}
	if after := n.digest(); !slices.Equal(before, after) {
		t.Fatal("the drives changed")
	}
	right := []appliance.PoolSpec{{Name: "default", Layout: stripe.Layout{N: 4, K: 2}}}
	if _, err := n.rebuild(Options{Pools: right}); err != nil {
		t.Fatal(err)
	}
	n.verify()
}

// A node formatted and never written: nothing to find, a store that
// opens.
func TestRebuildEmptyNode(t *testing.T) {
	n := newNodeOf(t, 0)
	n.wipeMetadata()
	r, err := n.rebuild(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Counters.Objects != 0 || len(r.Pools) != 1 || r.Pools[0].Sets != 0 {
		t.Fatalf("report %+v", r)
	}
	n.verify()
	if errs := n.check(); len(errs) != 0 {
		t.Fatalf("fsck after the rebuild: %+v", errs)
	}
}
