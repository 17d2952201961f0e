package alloc

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/memdev"
	"github.com/plinth-storage/plinth/superblock"
)

var ctx = context.Background()

// rig is a metadata store on three in-memory mirrors (as btree/store's
// tests build one) and a pool described to the allocator: the pool's
// drives are descriptions only, since the allocator does no data IO.
type rig struct {
	t      testing.TB
	devs   []dev.Device
	labels []*superblock.Log
	st     *store.Store
	pool   Pool
	opts   Options
	clock  *clock
}

// clock is a settable time, so ages and times are repeatable.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const (
	metaSegSize = 1 << 20
	ringSegs    = 4
	metaSegs    = 8
)

func newRig(t testing.TB, pool Pool) *rig {
	t.Helper()
	return newRigWith(t, pool, nil)
}

// newRigWith is newRig with the metadata drives behind wrap (when set).
func newRigWith(t testing.TB, pool Pool, wrap func(dev.Device) dev.Device) *rig {
	t.Helper()
	r := &rig{t: t, pool: pool, clock: &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}}
	node := uuid.New()
	size := 2<<20 + int64(ringSegs+metaSegs)*metaSegSize
	for i := range 3 {
		var d dev.Device = memdev.New(fmt.Sprintf("meta%d", i), size, 4096)
		if wrap != nil {
			d = wrap(d)
		}
		l := superblock.Label{Node: node, Drive: uuid.New(), Position: uint32(i), NodeDrives: 3, Created: time.Now(), Layout: superblock.Layout{SegmentSize: metaSegSize}}
		l, err := superblock.Plan(d, l)
		if err != nil {
			t.Fatal(err)
		}
		l.Meta = superblock.Meta{RingFirst: 0, RingCount: ringSegs, SegFirst: ringSegs, SegCount: metaSegs}
		lg, err := superblock.Format(d, l)
		if err != nil {
			t.Fatal(err)
		}
		r.devs, r.labels = append(r.devs, d), append(r.labels, lg)
	}
	st, err := store.Create(r.storeOptions())
	if err != nil {
		t.Fatal(err)
	}
	r.st = st
	r.opts = Options{Seed: 1, Now: r.clock.now}
	t.Cleanup(func() {
		if r.st != nil {
			r.st.Close()
		}
	})
	return r
}

func (r *rig) storeOptions() store.Options {
	o := store.Options{CheckpointInterval: -1, CacheBytes: 4 << 20}
	for i, d := range r.devs {
		o.Mirrors = append(o.Mirrors, store.Mirror{Name: fmt.Sprintf("meta%d", i), Dev: d, Label: r.labels[i]})
	}
	return o
}

// open opens the allocator on the rig's store.
func (r *rig) open() *Allocator {
	r.t.Helper()
	a, err := Open(ctx, r.st, r.pool, r.opts)
	if err != nil {
		r.t.Fatal(err)
	}
	return a
}

// reopenStore closes the store (a last checkpoint) and opens it again
// from the drives, as a restart does.
func (r *rig) reopenStore() {
	r.t.Helper()
	if err := r.st.Close(); err != nil {
		r.t.Fatal(err)
	}
	r.st = nil
	for i, d := range r.devs {
		lg, err := superblock.Open(d)
		if err != nil {
			r.t.Fatal(err)
		}
		r.labels[i] = lg
	}
	st, err := store.Open(r.storeOptions())
	if err != nil {
		r.t.Fatal(err)
	}
	r.st = st
}

// testPool is n drives of segs 1 MiB segments; the first three hold
// metadata ranges (a journal ring of 2 and 3 metadata segments).
func testPool(n int, segs uint32, layout Layout) Pool {
	p := Pool{Layout: layout}
	for i := range n {
		d := Drive{Position: uint32(i), Segments: segs, SegmentSize: 1 << 20}
		if i < 3 {
			d.Meta = superblock.Meta{RingFirst: 0, RingCount: 2, SegFirst: 2, SegCount: 3}
		}
		p.Drives = append(p.Drives, d)
	}
	return p
}

// mustCheck runs the allocator's and the store's checkers.
func mustCheck(t testing.TB, r *rig, a *Allocator) {
	t.Helper()
	if err := a.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.st.Check(); err != nil {
		t.Fatal(err)
	}
}

func mustSet(t testing.TB, a *Allocator, l Layout) Set {
	t.Helper()
	s, err := a.NewSet(ctx, l, 0)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// stage runs fn on a new batch, commits it and reports the outcome.
func stage(t testing.TB, r *rig, a *Allocator, fn func(b *store.Batch) error) {
	t.Helper()
	b := store.NewBatch()
	if err := fn(b); err != nil {
		a.Abandon(b)
		t.Fatal(err)
	}
	_, err := r.st.Commit(ctx, b)
	a.Done(b, err)
	if err != nil {
		t.Fatal(err)
	}
}

// write advances a set by n bytes and makes live of them live.
func write(t testing.TB, r *rig, a *Allocator, id SetID, n, live int64) {
	t.Helper()
	stage(t, r, a, func(b *store.Batch) error {
		if err := a.Advance(ctx, b, id, n); err != nil {
			return err
		}
		return a.AddLive(ctx, b, id, live)
	})
}

// drain takes a set's live bytes to zero.
func drain(t testing.TB, r *rig, a *Allocator, id SetID) {
	t.Helper()
	s, err := a.Lookup(id)
	if err != nil {
		t.Fatal(err)
	}
	stage(t, r, a, func(b *store.Batch) error { return a.AddLive(ctx, b, id, -s.Live) })
}

// dump is everything the allocator's trees and counters say, for
// comparing two opens.
type dump struct {
	sets   []Set
	segs   []Segment
	drives []DriveInfo
	stat   FSStat
}

func dumpOf(t testing.TB, a *Allocator) dump {
	t.Helper()
	var d dump
	for s, err := range a.Sets(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		d.sets = append(d.sets, s)
	}
	for _, di := range a.Drives() {
		for i := range di.Segments {
			if di.isMeta(i) {
				continue
			}
			e, err := a.Segment(di.Position, i)
			if err != nil {
				t.Fatal(err)
			}
			d.segs = append(d.segs, e)
		}
	}
	d.drives = a.Drives()
	d.stat = a.FSStat()
	return d
}
