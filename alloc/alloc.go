package alloc

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/plinth-storage/plinth/btree/store"
)

// Options tunes an allocator. Zero values mean the defaults.
type Options struct {
	// ReserveSegments is how many free segments of each drive only the
	// cleaner may take (NewSet with ForCleaner), so that it can always
	// make space (default 1; negative: none).
	ReserveSegments int
	// ZoneReserve is how many of a zoned drive's open zones sets may not
	// take (default 1: the label log's update holds one active zone).
	ZoneReserve int
	// MetaZoneReserve is how many more a metadata drive keeps (default 2:
	// the journal and the store each append to one segment at a time).
	MetaZoneReserve int
	// Seed seeds the placement's random choices, for repeatable tests
	// (0: a random seed).
	Seed uint64
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

func (o Options) withDefaults() (Options, error) {
	def := func(v *int, d int) {
		switch {
		case *v == 0:
			*v = d
		case *v < 0:
			*v = 0
		}
	}
	def(&o.ReserveSegments, 1)
	def(&o.ZoneReserve, 1)
	def(&o.MetaZoneReserve, 2)
	if o.Seed == 0 {
		o.Seed = rand.Uint64()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}

// Allocator manages a pool's segments and sets. Its methods are safe for
// concurrent use.
type Allocator struct {
	// the trees of the segment table, the sets and the allocator's record
	segTree, setTree, metaTree string

	st     *store.Store
	opts   Options
	layout Layout // the pool's data layout

	// opMu serializes the allocator's own transactions (NewSet, Seal,
	// MarkCleaning, Release, the replacements), recounts and Check: the
	// per-drive counters change only under it, so a transaction's choices
	// stay valid until it commits — except that a replacement detaches
	// for its commit (see countMu), its target reserved in the counters
	// and in drive.reserved first.
	opMu    sync.Mutex
	rng     *rand.Rand // under opMu
	nextSet SetID      // under opMu

	// countMu lets a replacement commit without opMu (detach): its
	// commit and counter updates hold countMu shared, so that recounts
	// and Check, which hold it exclusively, never see a commit without
	// its counters. A rebuild of many sets at once then waits for one
	// commit at a time only where it picks its target, not while the
	// journal writes: on drives busy with the rebuild's own transfers a
	// commit takes long, and two per member held everything else up.
	countMu sync.RWMutex

	// mu guards what follows; it is held only for short moments (and for
	// a recount of the totals, which is rare).
	mu          sync.Mutex
	drives      []*drive // by position
	byPos       map[uint32]*drive
	tot         totals
	holds       map[SetID]*hold
	batches     map[*store.Batch][]SetID
	staleDrives bool // an own transaction failed: recount the drives
	staleTotals bool // a commit failed: recount the totals when quiet
}

// drive is a drive's description and counters.
type drive struct {
	Drive
	data uint32 // data segments (not metadata)
	free int    // free segments
	open int    // open segments, one per open set with a member here
	// rebuild is the rebuilding segments (targets of pending
	// replacements); each holds an open zone too, until its replacement
	// commits or aborts.
	rebuild int
	hint    uint32 // no segment below it is free
	// reserved: free segments a replacement picked whose commit is
	// still running; lowestFree passes them over.
	reserved map[uint32]bool
}

// zonesHeld is how many of the drive's zones the pool's sets keep open.
func (d *drive) zonesHeld() int { return d.open + d.rebuild }

// totals are the pool's figures by state (indexed by State).
type totals struct {
	sets, live, frontier, capacity [4]int64
}

func (t *totals) add(s Set, sign int64) {
	t.sets[s.State] += sign
	t.live[s.State] += sign * s.Live
	t.frontier[s.State] += sign * s.Frontier
	t.capacity[s.State] += sign * s.Capacity
}

// Open opens the allocator of pool on st, creating its trees and its
// segment table on first use, and reloads the counters from the trees.
// A drive of the pool without entries (new in the pool) gets them; a drive
// with entries that the pool lacks is an error (a drive that is gone is
// passed with Health Out).
func Open(ctx context.Context, st *store.Store, pool Pool, opts Options) (*Allocator, error) {
	ds, err := pool.validate()
	if err != nil {
		return nil, fmt.Errorf("open allocator: %w", err)
	}
	if opts, err = opts.withDefaults(); err != nil {
		return nil, fmt.Errorf("open allocator: %w", err)
	}
	a := &Allocator{
		st: st, opts: opts, layout: pool.Layout,
		rng:     rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		byPos:   make(map[uint32]*drive, len(ds)),
		holds:   make(map[SetID]*hold),
		batches: make(map[*store.Batch][]SetID),
	}
	a.segTree, a.setTree, a.metaTree = treeNames(pool.Name)
	for _, d := range ds {
		dr := &drive{Drive: d, data: d.Segments - d.metaSegments()}
		a.drives = append(a.drives, dr)
		a.byPos[d.Position] = dr
	}
	if err := a.createTrees(ctx); err != nil {
		return nil, fmt.Errorf("open allocator: %w", err)
	}
	a.opMu.Lock()
	defer a.opMu.Unlock()
	next, err := a.countDrives()
	if err != nil {
		return nil, fmt.Errorf("open allocator: %w", err)
	}
	for i, d := range a.drives {
		if err := a.populate(ctx, d, next[i]); err != nil {
			return nil, fmt.Errorf("open allocator: %w", err)
		}
	}
	if err := a.loadMeta(ctx); err != nil {
		return nil, fmt.Errorf("open allocator: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.countTotals(); err != nil {
		return nil, fmt.Errorf("open allocator: %w", err)
	}
	return a, nil
}

// createTrees creates the trees that do not exist yet (a crash may have
// stopped a first Open between two of them).
func (a *Allocator) createTrees(ctx context.Context) error {
	have := map[string]bool{}
	for _, ti := range a.st.Trees() {
		have[ti.Name] = true
	}
	for _, name := range []string{a.segTree, a.setTree, a.metaTree} {
		if have[name] {
			continue
		}
		if err := a.st.CreateTree(ctx, name, ""); err != nil && !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("create tree %q: %w", name, err)
		}
	}
	return nil
}

// populateChunk bounds the entries of one populating transaction, so
// that a drive of 150,000 segments does not make one huge journal
// record.
const populateChunk = 4096

// populate adds the free entries of d's data segments from index from on.
// The table is filled in index order, chunk by chunk, so a crash leaves a
// prefix and the next Open goes on from where it stopped.
func (a *Allocator) populate(ctx context.Context, d *drive, from uint32) error {
	now := a.opts.Now()
	b := store.NewBatch()
	n := 0
	flush := func() error {
		if b.Len() == 0 {
			return nil
		}
		if _, err := a.st.Commit(ctx, b); err != nil {
			return fmt.Errorf("populate the segments of drive %d: %w", d.Position, err)
		}
		a.mu.Lock()
		d.free += n
		a.mu.Unlock()
		b, n = store.NewBatch(), 0
		return nil
	}
	for i, ok := d.nextData(from); ok; i, ok = d.nextData(i + 1) {
		b.Put(a.segTree, segKey(d.Position, i), Segment{State: StateFree, Gen: 1, Time: now}.encode())
		if n++; n == populateChunk {
			if err := flush(); err != nil {
				return err
			}
		}
		if i == ^uint32(0) {
			break
		}
	}
	return flush()
}

// countDrives recounts every drive's free and open segments from the
// segment table, and checks that the table's keys are the pool's data
// segments. It returns, per drive, the index from which its entries are
// missing (the end of its segments when none is). Called with opMu held.
func (a *Allocator) countDrives() ([]uint32, error) {
	v, err := a.st.View(a.segTree)
	if err != nil {
		return nil, fmt.Errorf("count segments: %w", err)
	}
	defer v.Close()
	it, err := v.Iter(a.segTree)
	if err != nil {
		return nil, fmt.Errorf("count segments: %w", err)
	}
	free := make([]int, len(a.drives))
	open := make([]int, len(a.drives))
	rebuild := make([]int, len(a.drives))
	hint := make([]uint32, len(a.drives))
	next := make([]uint32, len(a.drives)) // the next data segment expected
	done := make([]bool, len(a.drives))
	for i, d := range a.drives {
		next[i], done[i] = d.nextData(0)
		done[i] = !done[i]
		hint[i] = d.Segments
	}
	di := 0
	for ok := it.First(); ok; ok = it.Next() {
		s, err := decodeSegment(it.Key(), it.Value())
		if err != nil {
			return nil, fmt.Errorf("count segments: %w", err)
		}
		for di < len(a.drives) && a.drives[di].Position < s.Drive {
			di++
		}
		if di == len(a.drives) || a.drives[di].Position != s.Drive {
			return nil, fmt.Errorf("%w: drive %d has entries in the segment table but is not in the pool (pass a drive that is gone with health out)", ErrPool, s.Drive)
		}
		d := a.drives[di]
		switch {
		case s.Index >= d.Segments:
			return nil, fmt.Errorf("%w: %s is in the table, but the drive has %d segments", ErrPool, s, d.Segments)
		case d.isMeta(s.Index):
			return nil, fmt.Errorf("%w: %s is in the table, but it is in the drive's metadata ranges %+v", ErrPool, s, d.Meta)
		case done[di] || s.Index != next[di]:
			return nil, fmt.Errorf("%w: segment %d of drive %d is missing from the table", ErrCorrupt, next[di], d.Position)
		}
		switch s.State {
		case StateFree:
			free[di]++
			hint[di] = min(hint[di], s.Index)
		case StateOpen:
			open[di]++
		case StateRebuilding:
			rebuild[di]++
		}
		n, ok := d.nextData(s.Index + 1)
		if s.Index == ^uint32(0) {
			ok = false
		}
		next[di], done[di] = n, !ok
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("count segments: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, d := range a.drives {
		d.free, d.open, d.rebuild, d.hint = free[i], open[i], rebuild[i], hint[i]
		if done[i] {
			next[i] = d.Segments
		}
	}
	a.staleDrives = false
	return next, nil
}

// countTotals recounts the pool's totals from the sets. Called with mu
// held and no batch holding sets (their commits would count twice).
func (a *Allocator) countTotals() error {
	v, err := a.st.View(a.setTree)
	if err != nil {
		return fmt.Errorf("count sets: %w", err)
	}
	defer v.Close()
	it, err := v.Iter(a.setTree)
	if err != nil {
		return fmt.Errorf("count sets: %w", err)
	}
	var t totals
	for ok := it.First(); ok; ok = it.Next() {
		s, err := decodeSet(it.Key(), it.Value())
		if err != nil {
			return fmt.Errorf("count sets: %w", err)
		}
		t.add(s, 1)
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("count sets: %w", err)
	}
	a.tot, a.staleTotals = t, false
	return nil
}

// loadMeta reads the allocator record, writing it on first use. Called
// with opMu held.
func (a *Allocator) loadMeta(ctx context.Context) error {
	last, err := a.lastSet()
	if err != nil {
		return err
	}
	v, ok, err := a.st.Get(a.metaTree, metaKey)
	if err != nil {
		return fmt.Errorf("read the allocator record: %w", err)
	}
	if ok {
		r, err := decodeMeta(v)
		if err != nil {
			return err
		}
		if r.NextSet <= last {
			return fmt.Errorf("%w: next set id %d, but set %d exists", ErrCorrupt, r.NextSet, last)
		}
		a.nextSet = r.NextSet
		return nil
	}
	a.nextSet = last + 1
	b := store.NewBatch()
	b.Put(a.metaTree, metaKey, metaRecord{NextSet: a.nextSet}.encode())
	if _, err := a.st.Commit(ctx, b); err != nil {
		return fmt.Errorf("write the allocator record: %w", err)
	}
	return nil
}

// lastSet is the highest set id in the table (0 when none).
func (a *Allocator) lastSet() (SetID, error) {
	v, err := a.st.View(a.setTree)
	if err != nil {
		return 0, fmt.Errorf("read sets: %w", err)
	}
	defer v.Close()
	it, err := v.Iter(a.setTree)
	if err != nil {
		return 0, fmt.Errorf("read sets: %w", err)
	}
	if !it.Last() {
		return 0, it.Err()
	}
	return decodeSetKey(it.Key())
}

// refresh recounts what a failed commit may have left wrong. Called with
// opMu held. countMu is taken exclusively only when there is something to
// recount: every own transaction refreshes, and taking it regardless made
// each one wait for every detached commit under way, which put the
// replacements of a rebuild back in single file behind the journal (its
// begin took 2 s of a member's 5, 24 drives in BenchmarkRebuildDeclustered).
// A commit that fails after the look is recounted by the next refresh, as
// one that failed just after a recount would be.
func (a *Allocator) refresh() error {
	a.mu.Lock()
	need := a.staleDrives || a.staleTotals && len(a.holds) == 0
	a.mu.Unlock()
	if !need {
		return nil
	}
	a.countMu.Lock()
	defer a.countMu.Unlock()
	a.mu.Lock()
	stale := a.staleDrives
	a.mu.Unlock()
	if stale {
		if _, err := a.countDrives(); err != nil {
			return err
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.staleTotals && len(a.holds) == 0 {
		return a.countTotals()
	}
	return nil
}

// failed notes a commit of the allocator's own whose outcome is unknown.
func (a *Allocator) failed() {
	a.mu.Lock()
	a.markStale()
	a.mu.Unlock()
}

// markStale is failed with mu held: the next refresh recounts.
func (a *Allocator) markStale() { a.staleDrives, a.staleTotals = true, true }

// drive returns the drive at position pos.
func (a *Allocator) drive(pos uint32) (*drive, error) {
	d := a.byPos[pos]
	if d == nil {
		return nil, fmt.Errorf("%w: no drive at position %d in the pool", ErrInvalid, pos)
	}
	return d, nil
}

// SetHealth changes what the allocator knows of a drive's health.
func (a *Allocator) SetHealth(pos uint32, h Health) error {
	if !h.valid() {
		return fmt.Errorf("set health of drive %d: %w: %s", pos, ErrInvalid, h)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	d, err := a.drive(pos)
	if err != nil {
		return fmt.Errorf("set health: %w", err)
	}
	d.Health = h
	return nil
}

// DriveInfo is a drive's counters.
type DriveInfo struct {
	Drive
	DataSegments int // segments not in the metadata ranges
	Free         int // free segments
	OpenSets     int // open sets with a member on the drive
	// Rebuilding is the targets of pending replacements on the drive
	// (each holds an open zone, like an open set's member).
	Rebuilding int
}

// Drives returns the pool's drives and their counters, by position.
func (a *Allocator) Drives() []DriveInfo {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]DriveInfo, 0, len(a.drives))
	for _, d := range a.drives {
		out = append(out, DriveInfo{Drive: d.Drive, DataSegments: int(d.data), Free: d.free, OpenSets: d.open, Rebuilding: d.rebuild})
	}
	return out
}
