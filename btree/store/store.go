package store

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/plinth-storage/plinth/btree"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/seg"
	"github.com/plinth-storage/plinth/superblock"
	"github.com/plinth-storage/plinth/wal"
)

// Store is a set of named B-trees made durable by the journal and
// checkpoints. Its methods are safe for concurrent use.
type Store struct {
	opts    Options
	sp      *space
	cache   *btree.Cache
	journal *wal.WAL
	cmps    map[string]btree.Compare

	// schema: CreateTree and DropTree hold it exclusively, Commit shared
	// from resolving names to ids until its operations are applied.
	schema sync.RWMutex

	// applyMu: applying a transaction holds it exclusively, so readers
	// (who take their snapshots under it shared) never see part of one;
	// a checkpoint's cut holds it exclusively for a moment.
	applyMu  sync.RWMutex
	trees    map[string]*treeState
	byID     map[uint64]*treeState
	dropped  []*treeState // dropped since the last cut
	nextTree uint64
	applied  wal.LSN // every transaction up to it is applied
	// readGen: the generation readers pin (see pins): the newest
	// checkpoint whose trees were dropped (installed), not the newest
	// cut. Between a cut and its Drop the trees may still reach nodes
	// that checkpoint frees (a buffered leaf built on one the flush is
	// writing, on that one's base: btree/buffered.go), so a reader that
	// starts then holds them as one that started before the cut.
	readGen    uint64
	sinceCkpt  int64 // journal bytes committed since the last cut
	sinceDirt  int64 // journal bytes committed since dirty memory was measured
	dirtyCheck int64 // measure it every this many (dirtyCheckBytes)

	// order sequences the application of transactions by LSN: commits
	// finish in any order, they are applied in LSN order.
	orderMu   sync.Mutex
	orderCond *sync.Cond
	pending   map[wal.LSN][]op

	// pins counts the readers by the generation they pinned (readGen
	// when they started); a segment freed by checkpoint G is reused only
	// when no reader with a lower generation is left.
	pinMu sync.Mutex
	pins  map[uint64]int

	// ckptMu serializes checkpoints (and Check); what follows is theirs.
	ckptMu      sync.Mutex
	markers     sync.WaitGroup // checkpoint markers being committed (see checkpoint)
	lastGen     uint64         // the newest checkpoint installed
	lastAttempt uint64         // the newest generation used (attempts that failed included)
	lastLSN     wal.LSN
	lastRecord  btree.Addr
	lastCatRoot btree.Root
	catalogue   *btree.Tree
	lastCkpt    time.Time
	stats       Stats

	brokenMu sync.Mutex
	broken   error

	// Dirty memory: measured every dirtyCheckBytes of journal; past twice
	// Options.DirtyBytes commits wait (dirtyCond) for a checkpoint.
	dirtyMu     sync.Mutex
	dirtyCond   *sync.Cond
	overDirty   bool
	lastCkptErr error

	devices []dev.Device // closed by Close (OpenDir's files)

	resilver   ResilverProgress // guarded by ckptMu
	background sync.WaitGroup   // the background resilver

	trigger  chan struct{}
	closing  chan struct{}
	loopDone chan struct{}
	closed   bool
}

// treeState is one named tree.
type treeState struct {
	name     string
	id       uint64
	cmp      string
	tree     *btree.Tree
	inCkpt   bool       // the last installed checkpoint holds it (guarded by ckptMu)
	ckptRoot btree.Root // its root there
}

// Stats describes the store.
type Stats struct {
	Trees          int
	Checkpoints    uint64 // installed since open
	FailedCkpts    uint64
	LastCheckpoint time.Time
	CheckpointGen  uint64
	CheckpointLSN  wal.LSN
	AppliedLSN     wal.LSN
	LastDuration   time.Duration // of the last checkpoint
	LastCutPause   time.Duration // how long its cut held writers
	MaxCutPause    time.Duration
	BytesWritten   uint64
	Cleaned        uint64 // metadata segments cleaned
	Segments       []SegmentStats
	Mirrors        []MirrorStats
	Resilver       ResilverProgress // of the last resilver (zero when none ran)
	Cache          btree.CacheStats
	Journal        wal.Stats
	ReadOnly       string
}

// SegmentStats is one metadata segment.
type SegmentStats struct {
	State string
	Live  uint64
	Gen   uint64
}

func (s *Store) event(kind string, m *mirror, detail string) {
	if s.opts.Events == nil {
		return
	}
	e := Event{Time: s.opts.Now(), Kind: kind, Detail: detail}
	if m != nil {
		e.Mirror = m.name
	}
	s.opts.Events(e)
}

// fail makes the store read-only for good (until reopened): the trees in
// memory may no longer be what the journal says.
func (s *Store) fail(err error) error {
	s.brokenMu.Lock()
	first := s.broken == nil
	if first {
		s.broken = err
	}
	s.brokenMu.Unlock()
	if first {
		s.event("read-only", nil, err.Error())
		s.dirtyMu.Lock()
		s.dirtyCond.Broadcast() // throttled commits give up
		s.dirtyMu.Unlock()
	}
	return fmt.Errorf("%w: %w", ErrReadOnly, err)
}

func (s *Store) brokenErr() error {
	s.brokenMu.Lock()
	defer s.brokenMu.Unlock()
	if s.broken != nil {
		return fmt.Errorf("%w: %w", ErrReadOnly, s.broken)
	}
	return nil
}

// newStore builds the parts common to Create and Open.
func newStore(opts Options) (*Store, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	s := &Store{
		opts:     opts,
		cmps:     map[string]btree.Compare{"": nil},
		trees:    make(map[string]*treeState),
		byID:     make(map[uint64]*treeState),
		pending:  make(map[wal.LSN][]op),
		pins:     make(map[uint64]int),
		nextTree: firstTreeID,
		trigger:  make(chan struct{}, 1),
		closing:  make(chan struct{}),
		loopDone: make(chan struct{}),
	}
	s.orderCond = sync.NewCond(&s.orderMu)
	s.dirtyCond = sync.NewCond(&s.dirtyMu)
	for name, c := range opts.Comparators {
		if name == "" || len(name) > MaxName || c == nil {
			return nil, fmt.Errorf("%w: comparator %q", ErrBadName, name)
		}
		s.cmps[name] = c
	}
	meta := opts.Mirrors[0].Label.Label().Meta
	s.sp = &space{
		segSize:  opts.Mirrors[0].Label.Label().SegmentSize,
		table:    make([]segInfo, meta.SegCount),
		cur:      -1,
		writers:  make([]*seg.Writer, len(opts.Mirrors)),
		events:   s.event,
		eligible: s.eligible,
		genClock: func() uint64 { return uint64(s.opts.Now().UnixNano()) },
	}
	for _, m := range opts.Mirrors {
		l := m.Label.Label()
		mm := &mirror{name: m.Name, dev: m.Dev, label: m.Label, node: l.Node, drive: l.Drive, healthy: true, fresh: make([]bool, meta.SegCount)}
		for i := range l.Meta.SegCount {
			loc, err := seg.Locate(m.Dev, l.Layout, l.Meta.SegFirst+i)
			if err != nil {
				return nil, fmt.Errorf("metadata store: %s: metadata segment %d: %w", m.Name, i, err)
			}
			mm.segs = append(mm.segs, loc)
		}
		for i := range l.Meta.RingCount {
			loc, err := seg.Locate(m.Dev, l.Layout, l.Meta.RingFirst+i)
			if err != nil {
				return nil, fmt.Errorf("metadata store: %s: journal segment %d: %w", m.Name, i, err)
			}
			mm.ring = append(mm.ring, loc)
		}
		s.sp.mirrors = append(s.sp.mirrors, mm)
	}
	s.cache = btree.NewCache(opts.CacheBytes, s.sp)
	s.dirtyCheck = dirtyCheckBytes(s.opts.DirtyBytes)
	if opts.CheckpointBytes <= 0 {
		ring := int64(len(s.sp.mirrors[0].ring)) * s.sp.segSize
		s.opts.CheckpointBytes = max(ring/4, 1<<20)
	}
	return s, nil
}

func (s *Store) journalOptions() wal.Options {
	o := s.opts.Journal
	o.Mirrors = nil
	for _, m := range s.sp.mirrors {
		o.Mirrors = append(o.Mirrors, wal.Mirror{Name: m.name, Node: m.node, Drive: m.drive, Ring: m.ring, Joining: m.partial})
	}
	o.Events = func(e wal.Event) {
		s.event("journal", nil, e.String())
		if e.Kind == wal.EventFull {
			// Commits wait for journal space: only a checkpoint frees
			// it, and they add nothing to sinceCkpt while they wait
			// (nor did the journal Open replayed).
			s.kick()
		}
	}
	o.Now = s.opts.Now
	return o
}

func (s *Store) compare(name string) (btree.Compare, error) {
	c, ok := s.cmps[name]
	if !ok {
		return nil, fmt.Errorf("%w: comparator %q is not known to this binary", ErrBadName, name)
	}
	return c, nil
}

// Create formats a new store on the mirrors' metadata ranges, destroying
// what they held, and opens it.
func Create(opts Options) (*Store, error) {
	s, err := newStore(opts)
	if err != nil {
		return nil, err
	}
	for _, m := range s.sp.mirrors {
		s.lastAttempt = max(s.lastAttempt, m.label.Label().Checkpoint.Gen)
	}
	if s.journal, err = wal.Create(s.journalOptions()); err != nil {
		return nil, fmt.Errorf("metadata store: create journal: %w", err)
	}
	s.catalogue = btree.New(catalogueID, nil, s.cache)
	s.lastCkpt = s.opts.Now()
	if err := s.checkpoint(true); err != nil {
		s.journal.Close()
		return nil, fmt.Errorf("metadata store: first checkpoint: %w", err)
	}
	go s.loop()
	return s, nil
}

// Open opens the store: the newest checkpoint the mirrors' labels name,
// then the journal after it, replayed into the trees.
func Open(opts Options) (*Store, error) {
	s, err := newStore(opts)
	if err != nil {
		return nil, err
	}
	lsn, err := s.loadCheckpoint()
	if err != nil {
		return nil, err
	}
	for i, st := range s.sp.table {
		if st.State == segOpen {
			s.sp.abandon(i)
		}
	}
	s.journal, err = wal.Open(s.journalOptions(), lsn, s.replay)
	if err != nil {
		return nil, fmt.Errorf("metadata store: open journal: %w", err)
	}
	s.applied = s.journal.Stats().NextLSN - 1
	for i, m := range s.sp.mirrors {
		if m.partial && m.healthy && !s.journal.Healthy(i) {
			// It could not join the journal: it cannot become whole.
			s.sp.fail(m, errors.New("it could not join the journal (see the journal's events)"))
		}
	}
	go s.loop()
	if !s.opts.ManualResilver && len(s.partialMirrors()) > 0 {
		s.background.Add(1)
		go s.resilverInBackground()
	}
	return s, nil
}

// loadCheckpoint reads the newest checkpoint the mirrors' labels name and
// opens its trees; it returns the checkpoint's LSN, after which the journal
// is replayed. It writes nothing.
func (s *Store) loadCheckpoint() (wal.LSN, error) {
	var newest superblock.Checkpoint
	for _, m := range s.sp.mirrors {
		if c := m.label.Label().Checkpoint; c.Gen > newest.Gen {
			newest = c
		}
	}
	if newest.Gen == 0 {
		return 0, fmt.Errorf("metadata store: %w: no mirror's label names a checkpoint (was the store created?)", ErrNoCheckpoint)
	}
	addr := btree.Addr{Set: newest.Set, Off: newest.Off, Len: newest.Len}
	for _, m := range s.sp.mirrors {
		g := m.label.Label().Checkpoint.Gen
		switch {
		case g == newest.Gen:
		case g+1 == newest.Gen && holdsRecord(m, addr, newest.Sum):
			// A crash between the labels of one checkpoint: the
			// mirror took all of it but its label. (A mirror that
			// missed a checkpoint never passes this: see
			// resilver.go.)
			s.event("mirror-behind", m, fmt.Sprintf("its label names checkpoint %d, the newest is %d, whose record it holds: it missed only the label update, which the next checkpoint makes", g, newest.Gen))
		default:
			m.partial = true
			s.event("mirror-behind", m, fmt.Sprintf("its label names checkpoint %d, the newest is %d: it is read only where it was written since, and rebuilt from the other mirrors (resilver)", g, newest.Gen))
		}
	}
	b, err := s.sp.read(addr, func(b []byte) bool { _, err := decodeRecord(b, newest.Sum); return err == nil }, "checkpoint record")
	if err != nil {
		return 0, fmt.Errorf("metadata store: checkpoint %d: %w: %w", newest.Gen, ErrNoCheckpoint, err)
	}
	rec, err := decodeRecord(b, newest.Sum)
	if err != nil {
		return 0, fmt.Errorf("metadata store: checkpoint %d at metadata segment %d offset %d: %w: %w", newest.Gen, addr.Set, addr.Off, ErrNoCheckpoint, err)
	}
	if rec.Gen != newest.Gen || rec.LSN != newest.LSN || len(rec.Segs) != len(s.sp.table) {
		return 0, fmt.Errorf("metadata store: %w: checkpoint record says generation %d, LSN %d, %d segments; the label says %d, %d, %d", ErrCorrupt, rec.Gen, rec.LSN, len(rec.Segs), newest.Gen, newest.LSN, len(s.sp.table))
	}
	copy(s.sp.table, rec.Segs)
	s.lastGen, s.lastAttempt, s.readGen, s.lastLSN, s.lastRecord = rec.Gen, rec.Gen, rec.Gen, rec.LSN, addr
	s.nextTree, s.lastCatRoot, s.lastCkpt = rec.NextTree, rec.Catalogue, s.opts.Now()
	if err := s.openTrees(rec.Catalogue); err != nil {
		return 0, fmt.Errorf("metadata store: checkpoint %d: %w", rec.Gen, err)
	}
	return rec.LSN, nil
}

// holdsRecord says whether mirror m holds a copy of the checkpoint record
// at a that verifies against sum.
func holdsRecord(m *mirror, a btree.Addr, sum uint64) bool {
	if int(a.Set) >= len(m.segs) {
		return false
	}
	b, err := readAt(m.segs[a.Set], int64(a.Off), int(a.Len))
	if err != nil {
		return false
	}
	_, err = decodeRecord(b, sum)
	return err == nil
}

// replay applies one journal transaction during Open.
func (s *Store) replay(lsn wal.LSN, txn []byte) error {
	ops, err := decodeTxn(txn)
	if err == nil {
		err = s.apply(ops)
	}
	if err != nil {
		return fmt.Errorf("replay LSN %d: %w", lsn, err)
	}
	return nil
}

// openTrees opens the catalogue at root and every tree it names.
func (s *Store) openTrees(root btree.Root) error {
	cat, err := btree.Open(catalogueID, nil, s.cache, root)
	if err != nil {
		return fmt.Errorf("catalogue: %w", err)
	}
	s.catalogue = cat
	it := cat.Iter()
	for ok := it.First(); ok; ok = it.Next() {
		ti, err := decodeTreeInfo(it.Value())
		if err != nil {
			return fmt.Errorf("catalogue entry %q: %w", it.Key(), err)
		}
		t, err := s.openTree(ti)
		if err != nil {
			return fmt.Errorf("tree %q: %w", it.Key(), err)
		}
		ts := &treeState{name: string(it.Key()), id: ti.ID, cmp: ti.Cmp, tree: t, inCkpt: true, ckptRoot: ti.Root}
		if s.byID[ts.id] != nil {
			return fmt.Errorf("%w: two trees with id %d", ErrCorrupt, ts.id)
		}
		s.trees[ts.name], s.byID[ts.id] = ts, ts
		s.nextTree = max(s.nextTree, ts.id+1)
	}
	return it.Err()
}

// openTree opens a checkpointed tree as its catalogue entry describes it.
func (s *Store) openTree(ti treeInfo) (*btree.Tree, error) {
	cmp, err := s.compare(ti.Cmp)
	if err != nil {
		return nil, err
	}
	return btree.Open(ti.ID, cmp, s.cache, ti.Root)
}

// eligible reports whether a segment freed by checkpoint freedAt may be
// reused: no reader that started before that checkpoint's cut is left.
func (s *Store) eligible(freedAt uint64) bool {
	s.pinMu.Lock()
	defer s.pinMu.Unlock()
	low := uint64(math.MaxUint64)
	for g, n := range s.pins {
		if n > 0 {
			low = min(low, g)
		}
	}
	return low >= freedAt
}

func (s *Store) pin(gen uint64) {
	s.pinMu.Lock()
	s.pins[gen]++
	s.pinMu.Unlock()
}

func (s *Store) unpin(gen uint64) {
	s.pinMu.Lock()
	if s.pins[gen]--; s.pins[gen] <= 0 {
		delete(s.pins, gen)
	}
	s.pinMu.Unlock()
}

// Close stops the background checkpoints, makes a last checkpoint (so the
// next Open replays nothing) and closes the journal. The devices and
// labels belong to the caller.
func (s *Store) Close() error {
	s.ckptMu.Lock()
	if s.closed {
		s.ckptMu.Unlock()
		return nil
	}
	s.closed = true
	s.ckptMu.Unlock()
	close(s.closing)
	<-s.loopDone
	s.background.Wait()
	var err error
	final := func() {
		if err == nil && s.brokenErr() == nil {
			s.ckptMu.Lock()
			err = s.checkpoint(false)
			s.ckptMu.Unlock()
		}
	}
	// The final checkpoint frees journal space a pending checkpoint
	// marker may be waiting for; a second covers the markers committed
	// meanwhile (and does nothing when there were none).
	final()
	s.markers.Wait()
	final()
	if jerr := s.journal.Close(); err == nil {
		err = jerr
	}
	for _, d := range s.devices {
		if derr := d.Close(); err == nil {
			err = derr
		}
	}
	if err != nil {
		return fmt.Errorf("metadata store: close: %w", err)
	}
	return nil
}

// Stats returns the store's figures.
func (s *Store) Stats() Stats {
	s.ckptMu.Lock()
	st := s.stats
	st.CheckpointGen, st.CheckpointLSN, st.LastCheckpoint = s.lastGen, s.lastLSN, s.lastCkpt
	st.Resilver = s.resilver
	s.ckptMu.Unlock()
	s.applyMu.RLock()
	st.Trees, st.AppliedLSN = len(s.trees), s.applied
	s.applyMu.RUnlock()
	s.sp.mu.Lock()
	for _, t := range s.sp.table {
		st.Segments = append(st.Segments, SegmentStats{State: t.State.String(), Live: t.Live, Gen: t.Gen})
	}
	for _, m := range s.sp.mirrors {
		ms := MirrorStats{Name: m.name, Healthy: m.healthy, Partial: m.partial}
		if m.failure != nil {
			ms.Failure = m.failure.Error()
		}
		st.Mirrors = append(st.Mirrors, ms)
	}
	s.sp.mu.Unlock()
	st.Cache, st.Journal = s.cache.Stats(), s.journal.Stats()
	if err := s.brokenErr(); err != nil {
		st.ReadOnly = err.Error()
	}
	return st
}
