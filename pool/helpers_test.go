package pool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/faultdev"
	"github.com/plinth-storage/plinth/io/memdev"
	"github.com/plinth-storage/plinth/io/zonemu"
	"github.com/plinth-storage/plinth/stripe"
	"github.com/plinth-storage/plinth/superblock"
)

var ctx = context.Background()

// rig is a pool on n in-memory drives behind fault injectors; the first
// three also hold the metadata store's mirrors.
type rig struct {
	t      testing.TB
	n      int
	inner  []dev.Device
	devs   []*faultdev.Device
	logs   []*superblock.Log
	st     *store.Store
	p      *Pool
	layout stripe.Layout
	opts   Options
	sopts  store.Options

	evMu   sync.Mutex
	events []Event
}

type rigConfig struct {
	drives   int
	segSize  int64
	segs     uint32 // data segments per drive
	metaSegs uint32
	layout   stripe.Layout
	zoned    bool
	opts     Options
}

func (c *rigConfig) defaults() {
	if c.drives == 0 {
		c.drives = 6
	}
	if c.segSize == 0 {
		c.segSize = 1 << 20
	}
	if c.segs == 0 {
		c.segs = 16
	}
	if c.metaSegs == 0 {
		c.metaSegs = 16
	}
	if c.layout.N == 0 {
		c.layout = stripe.Layout{N: 4, K: 2, Unit: 16 << 10}
	}
}

const ringSegs = 2

func newRig(t testing.TB, c rigConfig) *rig {
	t.Helper()
	c.defaults()
	r := &rig{t: t, n: c.drives, layout: c.layout, opts: c.opts}
	node := uuid.New()
	for i := range c.drives {
		segs := c.segs
		if i < 3 {
			segs += ringSegs + c.metaSegs
		}
		var d dev.Device
		if c.zoned {
			zc := zonemu.Config{ZoneSize: c.segSize, ZoneCapacity: c.segSize, NrZones: int(segs) + 2, NrConventional: 2,
				LogicalBlockSize: 4096, Behavior: zonemu.BehaviorSMR, MaxOpenZones: 64}
			mem := memdev.New(fmt.Sprintf("d%d", i), int64(zc.NrZones)*zc.ZoneSize+zonemu.MetadataSize(zc), 4096)
			z, err := zonemu.Create(mem, zc)
			if err != nil {
				t.Fatal(err)
			}
			d = z
		} else {
			d = memdev.New(fmt.Sprintf("d%d", i), 1<<20+int64(segs)*c.segSize, 4096)
		}
		fd := faultdev.New(d, uint64(i)+1)
		l := superblock.Label{Node: node, Drive: uuid.New(), Position: uint32(i), NodeDrives: uint32(c.drives), Created: time.Now(), Layout: superblock.Layout{SegmentSize: c.segSize}}
		l, err := superblock.Plan(fd, l)
		if err != nil {
			t.Fatal(err)
		}
		if i < 3 {
			l.Meta = superblock.Meta{RingFirst: 0, RingCount: ringSegs, SegFirst: ringSegs, SegCount: c.metaSegs}
		}
		lg, err := superblock.Format(fd, l)
		if err != nil {
			t.Fatal(err)
		}
		r.inner, r.devs, r.logs = append(r.inner, d), append(r.devs, fd), append(r.logs, lg)
	}
	r.sopts = store.Options{CacheBytes: 8 << 20, DirtyBytes: 256 << 10}
	st, err := store.Create(r.storeOptions())
	if err != nil {
		t.Fatal(err)
	}
	r.st = st
	r.open()
	t.Cleanup(func() {
		if r.p != nil {
			r.p.Close()
		}
		if r.st != nil {
			r.st.Close()
		}
		// The testing package keeps a finished parallel subtest's cleanup
		// closures until its parent ends: let go of the drives so that a
		// run of many seeds does not hold every seed's memory.
		*r = rig{}
	})
	return r
}

func (r *rig) storeOptions() store.Options {
	o := r.sopts
	o.Mirrors = nil
	for i := range 3 {
		o.Mirrors = append(o.Mirrors, store.Mirror{Name: fmt.Sprintf("d%d", i), Dev: r.devs[i], Label: r.logs[i]})
	}
	return o
}

func (r *rig) config() Config {
	c := Config{Name: "p0", Layout: r.layout}
	for i, d := range r.devs {
		c.Drives = append(c.Drives, Drive{Dev: d, Label: r.logs[i].Label()})
	}
	return c
}

func (r *rig) open() {
	r.t.Helper()
	o := r.opts
	if o.Alloc.Seed == 0 {
		o.Alloc.Seed = 1
	}
	user := o.Events
	o.Events = func(e Event) {
		r.evMu.Lock()
		r.events = append(r.events, e)
		r.evMu.Unlock()
		if user != nil {
			user(e)
		}
	}
	p, err := Open(ctx, r.st, r.config(), o)
	if err != nil {
		r.t.Fatal(err)
	}
	r.p = p
}

// reopen closes the pool and the store (a clean stop) and opens both again
// from the drives.
func (r *rig) reopen() {
	r.t.Helper()
	if err := r.p.Close(); err != nil {
		r.t.Fatal(err)
	}
	r.p = nil
	if err := r.st.Close(); err != nil {
		r.t.Fatal(err)
	}
	r.st = nil
	r.openStore()
	r.open()
}

func (r *rig) openStore() {
	r.t.Helper()
	for i := range 3 {
		lg, err := superblock.Open(r.devs[i])
		if err != nil {
			r.t.Fatal(err)
		}
		r.logs[i] = lg
	}
	st, err := store.Open(r.storeOptions())
	if err != nil {
		r.t.Fatal(err)
	}
	r.st = st
}

func (r *rig) eventsOf(kind string) []Event {
	r.evMu.Lock()
	defer r.evMu.Unlock()
	var out []Event
	for _, e := range r.events {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func (r *rig) check() {
	r.t.Helper()
	if err := r.p.Check(ctx, CheckOptions{Deep: true}); err != nil {
		r.t.Fatal(err)
	}
}

// payload is repeatable content for an owner and version.
func payload(owner string, version uint64, size int) []byte {
	b := make([]byte, size)
	rng := rand.New(rand.NewPCG(uint64(len(owner))*7919+version, uint64(size)))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	copy(b, owner)
	return b
}

func (r *rig) put(owner string, version uint64, b []byte) {
	r.t.Helper()
	info, err := r.p.Put(ctx, []byte(owner), version, bytes.NewReader(b))
	if err != nil {
		r.t.Fatalf("put %q v%d (%d bytes): %v", owner, version, len(b), err)
	}
	if info.Size != int64(len(b)) || info.Version != version {
		r.t.Fatalf("put %q: info %+v", owner, info)
	}
}

// get reads an owner whole.
func (p *Pool) get(owner string) ([]byte, Info, error) {
	info, err := p.Stat([]byte(owner))
	if err != nil {
		return nil, info, err
	}
	b := make([]byte, info.Size)
	n, info2, err := p.ReadAt(ctx, []byte(owner), b, 0)
	if errors.Is(err, io.EOF) && int64(n) == info.Size {
		err = nil
	}
	return b[:n], info2, err
}

func (r *rig) mustGet(owner string, version uint64, want []byte) {
	r.t.Helper()
	got, info, err := r.p.get(owner)
	if err != nil {
		r.t.Fatalf("get %q: %v", owner, err)
	}
	if info.Version != version || !bytes.Equal(got, want) {
		r.t.Fatalf("get %q: version %d, %d bytes; want version %d, %d bytes (equal: %v)", owner, info.Version, len(got), version, len(want), bytes.Equal(got, want))
	}
}
