package beck

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/datalog"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/seg"
	"github.com/plinth-storage/plinth/stripe"
	"github.com/plinth-storage/plinth/superblock"
	"github.com/plinth-storage/plinth/tools/fsck"
)

// Options says what to rebuild and how.
type Options struct {
	// Drives are the paths of the node's drives, in any order.
	Drives []string
	// Pools are the pools as the node's configuration defines them (the
	// "pools" of serve's --config), used when the old metadata store's
	// pool records cannot be read. None: the pool serve makes with no
	// configuration, "default" on every drive with the layout for the
	// node's drive count.
	Pools []appliance.PoolSpec
	// Yes allows replacing a metadata store that can still be read.
	Yes bool
	// Progress shows each phase (nil: nothing shown).
	Progress fsck.Progress
	// Open opens a drive (default appliance.OpenDevice, exclusively).
	Open func(path string) (dev.Device, error)
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// MaxGeneration bounds the search for the generation of a member
	// lost with its drive (default 1<<20).
	MaxGeneration uint64
	// BatchRecords is how many records one commit of the scan stages,
	// and how many owners one commit of the index writes (default 8192).
	BatchRecords int
}

// Errors that stop a rebuild before it writes anything.
var (
	// ErrNoDrives: no drive given.
	ErrNoDrives = errors.New("no drives to rebuild")
	// ErrStoreReadable: the metadata store can still be read; replacing
	// it needs Options.Yes.
	ErrStoreReadable = errors.New("the metadata store is readable")
	// ErrLayout: no set on a pool's drives checks with the pool's
	// layout: the configuration is not the one the node ran with.
	ErrLayout = errors.New("the pool layout does not match its data")
)

// The phases, as the progress shows them.
const (
	PhaseDrives  fsck.Phase = "drives and labels"
	PhaseHeaders fsck.Phase = "member segment headers"
	PhaseStore   fsck.Phase = "new metadata store"
	PhaseScan    fsck.Phase = "data log scan"
	PhaseIndex   fsck.Phase = "index from the records"
	PhaseTables  fsck.Phase = "allocator, buckets and clock"
	PhaseVerify  fsck.Phase = "verify"
)

// Phases lists the phases in order.
var Phases = []fsck.Phase{PhaseDrives, PhaseHeaders, PhaseStore, PhaseScan, PhaseIndex, PhaseTables, PhaseVerify}

// rebuild is one run of Rebuild.
type rebuild struct {
	ctx context.Context
	o   Options
	r   *Report

	node   *appliance.Node
	drives map[int]*driveInfo // every position of the node
	pools  []*poolPlan
	sets   []*foundSet // every pool's, in discovery order

	st      *store.Store
	resume  bool // the store is a rebuild's under way
	salvage salvaged
	prog    progress
	stepNo  int
}

// driveInfo is one position of the node.
type driveInfo struct {
	pos   int
	path  string
	dev   dev.Device // nil: missing
	label superblock.Label
	// synthesized: the drive is missing and its label was made up from a
	// sibling's (no copy of it could be read).
	synthesized bool
	segSize     int64 // bytes a data segment holds (zone capacity on ZNS)
	headers     map[uint32]segHeader
}

// isMeta reports whether segment i of the drive is a metadata segment.
func (d *driveInfo) isMeta(i uint32) bool {
	m := d.label.Meta
	in := func(first, count uint32) bool { return i >= first && uint64(i) < uint64(first)+uint64(count) }
	return in(m.RingFirst, m.RingCount) || in(m.SegFirst, m.SegCount)
}

// segHeader is what a data segment's header says, or why it could not
// be read.
type segHeader struct {
	gen, set uint64
	created  time.Time
	loc      seg.Location
	bad      error // the header is damaged or could not be read
}

// poolPlan is one pool: its record and what was found on its drives.
type poolPlan struct {
	name   string
	layout stripe.Layout
	drives []int // positions, ascending
	all    bool  // recorded as spanning every drive (record version 1)
	sets   []*foundSet
	maxSet uint64 // the highest set id any header of its drives names
	notes  []string
}

// member is one member of a found set.
type member struct {
	pos  int
	seg  uint32
	gen  uint64
	loc  seg.Location // Dev nil: missing
	node [16]byte
	uuid [16]byte
}

// foundSet is a segment set found on the drives.
type foundSet struct {
	pool     *poolPlan
	id       uint64
	members  []member // member order: data, then parity
	end      int64    // stream end: a multiple of the stripe bytes
	capacity int64    // the allocator's capacity
	created  time.Time
	missing  []int // members with no device (placeholders)
}

// dataSet is the set as the data log reads it.
func (fs *foundSet) dataSet() datalog.Set {
	ds := datalog.Set{ID: fs.id, Layout: fs.pool.layout}
	for _, m := range fs.members {
		ds.Members = append(ds.Members, datalog.Member{Loc: m.loc, Node: m.node, Drive: m.uuid, Generation: m.gen})
	}
	return ds
}

// Rebuild rebuilds every index of the stopped node on o.Drives from its
// data logs, in a fresh metadata store on the same drives, resuming a
// rebuild an interruption stopped. Damage is not an error: it is in the
// Report (exit status fsck.ExitErrors when objects are lost). The error
// is an operational one: bad arguments, drives that cannot be opened or
// are in use, a readable store without o.Yes, a pool layout that does not
// match the data, or an interruption (ctx: run again to resume).
func Rebuild(ctx context.Context, o Options) (Report, error) {
	if len(o.Drives) == 0 {
		return Report{}, ErrNoDrives
	}
	if o.Open == nil {
		o.Open = appliance.OpenDevice
	}
	if o.Progress == nil {
		o.Progress = quiet{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxGeneration == 0 {
		o.MaxGeneration = 1 << 20
	}
	if o.BatchRecords <= 0 {
		o.BatchRecords = 8192
	}
	b := &rebuild{ctx: ctx, o: o, r: &Report{Lost: []Lost{}, Notes: []string{}, Warnings: []string{}}}
	start := time.Now()
	err := b.run()
	if cerr := b.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Report{}, err
	}
	b.r.Seconds = time.Since(start).Seconds()
	b.r.finish()
	return *b.r, nil
}

// run runs the phases in order.
func (b *rebuild) run() error {
	steps := []struct {
		p    fsck.Phase
		unit string
		run  func(fsck.Bar) (string, error)
	}{
		{PhaseDrives, "drives", b.openDrives},
		{PhaseHeaders, "segments", b.discover},
		{PhaseStore, "steps", b.setup},
		{PhaseScan, "bytes", b.scan},
		{PhaseIndex, "records", b.index},
		{PhaseTables, "pools", b.tables},
		{PhaseVerify, "pools", b.verify},
	}
	for i, s := range steps {
		if err := b.ctx.Err(); err != nil {
			return err
		}
		b.stepNo = i + 1
		started := time.Now()
		bar := b.o.Progress.Begin(s.p, i+1, len(steps), 0, s.unit)
		summary, err := s.run(bar)
		if err != nil {
			bar.End("stopped")
			return err
		}
		bar.End(summary)
		b.r.Phases = append(b.r.Phases, PhaseResult{Phase: s.p, Title: string(s.p), Summary: summary, Seconds: time.Since(started).Seconds()})
	}
	return nil
}

// close releases the store and the drives.
func (b *rebuild) close() error {
	var errs []error
	if b.st != nil {
		errs = append(errs, b.st.Close())
		b.st = nil
	}
	if b.node != nil {
		errs = append(errs, b.node.Close())
		b.node = nil
	}
	return errors.Join(errs...)
}

// note records something the operator should know.
func (b *rebuild) note(format string, args ...any) {
	b.r.Notes = append(b.r.Notes, fmt.Sprintf(format, args...))
}

// warn records something the operator must act on.
func (b *rebuild) warn(format string, args ...any) {
	b.r.Warnings = append(b.r.Warnings, fmt.Sprintf(format, args...))
}

// quiet is the progress of a rebuild that shows none.
type quiet struct{}

func (quiet) Begin(fsck.Phase, int, int, int64, string) fsck.Bar { return quiet{} }
func (quiet) Update(int64, int64)                                {}
func (quiet) End(string)                                         {}
