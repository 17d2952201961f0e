package objects_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/appliance/objects"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/hlc"
	"github.com/plinth-storage/plinth/internal/simtest"
	"github.com/plinth-storage/plinth/io/zonemu"
	"github.com/plinth-storage/plinth/pool"
	"github.com/plinth-storage/plinth/stripe"
)

var ctx = context.Background()

// rig is a node of six small emulated zoned drives with its store, pools
// and object store.
type rig struct {
	t     testing.TB
	paths []string
	node  *appliance.Node
	st    *store.Store
	pools []*pool.Pool
	obj   *objects.Store
	clock *simtest.Clock
	opts  objects.Options
	split bool // two pools of three drives instead of one
}

func newRig(t testing.TB, opts objects.Options, split bool) *rig {
	cfg := zonemu.Config{ZoneSize: 4 << 20, ZoneCapacity: 4 << 20, NrZones: 40, NrConventional: 2,
		MaxOpenZones: 8, LogicalBlockSize: 4096, Behavior: zonemu.BehaviorSMR}
	paths, _, err := appliance.EnsureDefault(filepath.Join(t.TempDir(), "data"), appliance.DefaultOptions{Drives: 6, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, paths: paths, clock: simtest.NewClock(time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)), opts: opts, split: split}
	r.open()
	t.Cleanup(r.close)
	return r
}

func (r *rig) open() {
	t := r.t
	var err error
	if r.node, err = appliance.OpenNode(r.paths); err != nil {
		t.Fatal(err)
	}
	if r.st, err = r.node.OpenStore(store.Options{}); err != nil {
		t.Fatal(err)
	}
	popts := pool.Options{Cleaner: pool.CleanerOptions{Manual: true}}
	var specs []appliance.PoolSpec
	if r.split {
		specs = []appliance.PoolSpec{
			{Name: "left", Drives: []int{0, 1, 2}, Layout: stripe.Layout{N: 1, K: 2, Unit: 64 << 10}},
			{Name: "right", Drives: []int{3, 4, 5}, Layout: stripe.Layout{N: 1, K: 2, Unit: 64 << 10}},
		}
	}
	if r.pools, err = r.node.OpenPoolSpecs(ctx, r.st, specs, popts, nil); err != nil {
		t.Fatal(err)
	}
	o := r.opts
	o.Pools = r.pools
	o.Now = r.clock.Now
	o.Clock = hlc.New(0, hlc.Options{Now: r.clock.Now})
	if r.obj, err = objects.Open(ctx, r.st, o); err != nil {
		t.Fatal(err)
	}
}

func (r *rig) close() {
	if r.node == nil {
		return
	}
	for _, p := range r.pools {
		if err := p.Check(ctx, pool.CheckOptions{Deep: true}); err != nil {
			r.t.Errorf("pool check: %v", err)
		}
		p.Close()
	}
	if err := r.st.Close(); err != nil {
		r.t.Errorf("close store: %v", err)
	}
	r.node.Close()
	r.node, r.pools = nil, nil
}

func (r *rig) reopen() {
	r.close()
	r.open()
}
