package pool

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/datalog"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/seg"
	"github.com/plinth-storage/plinth/stripe"
	"github.com/plinth-storage/plinth/superblock"
)

var (
	// ErrNotFound: the owner has no bytes (never written, or deleted).
	ErrNotFound = errors.New("not found")
	// ErrSuperseded: the owner already has a version at least as new; the
	// write or delete changed nothing.
	ErrSuperseded = errors.New("a newer version exists")
	// ErrNoSpace: the pool's drives cannot take another segment set.
	ErrNoSpace = errors.New("pool out of data space")
	// ErrWriteProtected: metadata space ran out; reads and deletes go on,
	// writes are refused until deletes and metadata cleaning make room.
	ErrWriteProtected = errors.New("pool write-protected")
	// ErrCorrupt: a record or an index entry that cannot be decoded, or an
	// index that contradicts the allocator.
	ErrCorrupt = errors.New("corrupt pool data")
	// ErrInvalid: a bad argument (an empty or too long owner, a negative
	// offset, a bad configuration).
	ErrInvalid = errors.New("invalid argument")
	// ErrClosed: the pool is closed.
	ErrClosed = errors.New("pool closed")
)

// Drive is one drive of the pool.
type Drive struct {
	// Dev is the open drive; nil when it is missing (its members are read
	// as lost and it gets no new ones).
	Dev   dev.Device
	Label superblock.Label
}

// Config is what a pool is made of.
type Config struct {
	// Name names the pool's trees in the metadata store.
	Name   string
	Drives []Drive
	// Layout is the pool's data layout (N+K and the stripe unit).
	Layout stripe.Layout
}

// Options tunes a pool. Zero values mean the defaults.
type Options struct {
	Alloc alloc.Options
	// Events receives what an operator should hear about.
	Events func(Event)
	// MaxCommitGroup bounds the writes one metadata commit takes (default 256).
	MaxCommitGroup int
	// Cleaner tunes the cleaner.
	Cleaner CleanerOptions
	// ProtectAt is the fraction of metadata space used at which the pool
	// enters write-protect mode (default 0.9); it leaves it below
	// ProtectAt - 0.05.
	ProtectAt float64
	// Streams is how many sets the foreground writes at once (default 2):
	// each write goes to one of them, so that while one set's stripes are
	// being written or flushed the others take writes, and each drive
	// has a write in flight for each (a zone takes one at a time).
	Streams int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Hedge, when set, gives each drive's read deadline: a stripe read
	// whose data units have not arrived by then rebuilds the late ones
	// from the other members (datalog.Reader.SetHedge); 0: no hedging.
	Hedge func(drive uint32) time.Duration
}

func (o *Options) defaults() {
	if o.Streams <= 0 {
		o.Streams = 2
	}
	if o.MaxCommitGroup <= 0 {
		o.MaxCommitGroup = 256
	}
	if o.ProtectAt <= 0 || o.ProtectAt > 1 {
		o.ProtectAt = 0.9
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Cleaner.defaults()
}

// Pool is one pool's data path. Its methods are safe for concurrent use.
type Pool struct {
	name   string
	st     *store.Store
	al     *alloc.Allocator
	layout stripe.Layout
	opts   Options
	drives map[uint32]Drive
	sb     int64 // stream bytes per stripe

	heads, extents, repairs, pending string // tree names

	// wmu guards the registry of writing streams: the foreground slots,
	// the cleaner's stream, the retired ones. It is held only for short
	// moves, never across IO of a stream: each stream's own io lock
	// serialises its writer, and is taken before wmu, never while holding
	// it.
	wmu sync.Mutex
	fgs []*stream // the foreground's open streams, one per slot (nil: none yet)
	cl  *stream
	// retired streams: flushed and finished, sealed by the committer once
	// every write into them is committed.
	retired  []*stream
	nextSlot atomic.Uint64 // the slot of the next write

	rebuildMu sync.Mutex // one Rebuild at a time

	// commitMu is held by each commit group and by Check, which needs the
	// index and the allocator to hold still.
	commitMu sync.Mutex

	// gate keeps a set's segments from being released while a read uses
	// them: readers hold it shared, release holds it exclusively.
	gate sync.RWMutex

	rmu     sync.Mutex
	readers map[alloc.SetID]*datalog.Reader
	rends   map[alloc.SetID]int64

	commits chan *commitReq
	quit    chan struct{}
	wg      sync.WaitGroup // the committer
	bg      sync.WaitGroup // background submitters (repair queueing)

	repairMu    sync.Mutex
	repairKnown map[string]bool // stripes queued for repair

	protect protectState
	stats   statsCounters
	clean   cleanerState

	closeOnce sync.Once
	closed    chan struct{}

	inspect bool // opened by OpenReadOnly: nothing is queued for repair
}

// Open opens (creating on first use) the pool on st: its index trees and
// its allocator, and resumes the sets that were open when it last stopped.
func Open(ctx context.Context, st *store.Store, cfg Config, opts Options) (*Pool, error) {
	p, ap, err := newPool(st, cfg, opts)
	if err != nil {
		return nil, err
	}
	for _, name := range []string{p.heads, p.extents, p.repairs, p.pending} {
		if err := st.CreateTree(ctx, name, ""); err != nil && !errors.Is(err, store.ErrExists) {
			return nil, fmt.Errorf("pool %s: create tree %s: %w", cfg.Name, name, err)
		}
	}
	if err := p.openAllocator(ctx, ap); err != nil {
		return nil, err
	}
	if err := p.resume(ctx); err != nil {
		return nil, fmt.Errorf("pool %s: resume: %w", cfg.Name, err)
	}
	p.wg.Add(1)
	go p.committer()
	p.startCleaner()
	return p, nil
}

// openAllocator opens the pool's allocator on its store.
func (p *Pool) openAllocator(ctx context.Context, ap alloc.Pool) error {
	ao := p.opts.Alloc
	if ao.Now == nil {
		ao.Now = p.opts.Now
	}
	al, err := alloc.Open(ctx, p.st, ap, ao)
	if err != nil {
		return fmt.Errorf("pool %s: %w", p.name, err)
	}
	p.al = al
	return nil
}

// newPool makes the pool's structure and its allocator's description,
// touching neither the store nor the drives.
func newPool(st *store.Store, cfg Config, opts Options) (*Pool, alloc.Pool, error) {
	opts.defaults()
	if cfg.Name == "" {
		return nil, alloc.Pool{}, fmt.Errorf("%w: a pool needs a name", ErrInvalid)
	}
	if err := cfg.Layout.Validate(); err != nil {
		return nil, alloc.Pool{}, fmt.Errorf("%w: pool %s: %v", ErrInvalid, cfg.Name, err)
	}
	p := &Pool{
		name: cfg.Name, st: st, layout: cfg.Layout, opts: opts,
		drives:      make(map[uint32]Drive),
		sb:          datalog.StripeBytes(cfg.Layout),
		heads:       "pool/" + cfg.Name + "/heads",
		extents:     "pool/" + cfg.Name + "/extents",
		repairs:     "pool/" + cfg.Name + "/repair",
		pending:     "pool/" + cfg.Name + "/pending",
		readers:     make(map[alloc.SetID]*datalog.Reader),
		repairKnown: map[string]bool{},
		rends:       make(map[alloc.SetID]int64),
		commits:     make(chan *commitReq, opts.MaxCommitGroup),
		quit:        make(chan struct{}),
		closed:      make(chan struct{}),
		fgs:         make([]*stream, opts.Streams),
	}
	if p.sb < headerLen(MaxOwner)+1 {
		return nil, alloc.Pool{}, fmt.Errorf("%w: pool %s: a stripe of %d bytes cannot hold a record", ErrInvalid, cfg.Name, p.sb)
	}
	ap := alloc.Pool{Name: cfg.Name, Layout: alloc.EC(cfg.Layout.N, cfg.Layout.K)}
	if cfg.Name == LegacyAllocPool {
		ap.Name = ""
	}
	for _, d := range cfg.Drives {
		if _, dup := p.drives[d.Label.Position]; dup {
			return nil, alloc.Pool{}, fmt.Errorf("%w: pool %s: two drives at position %d", ErrInvalid, cfg.Name, d.Label.Position)
		}
		p.drives[d.Label.Position] = d
		h, g := alloc.Online, dev.Geometry{}
		if d.Dev == nil {
			h = alloc.Out
		} else {
			g = d.Dev.Geometry()
		}
		ad := alloc.DriveFromLabel(d.Label, g, h)
		if ad.Zoned && d.Dev != nil {
			// The allocator needs the zone capacity (ZNS zones hold less
			// than their size).
			l, err := seg.Locate(d.Dev, d.Label.Layout, d.Label.Meta.SegFirst+d.Label.Meta.SegCount)
			if err == nil && l.Capacity < ad.SegmentSize {
				ad.SegmentSize = l.Capacity
			}
		}
		ap.Drives = append(ap.Drives, ad)
	}
	return p, ap, nil
}

// Allocator returns the pool's allocator (for fsstat and the checker).
func (p *Pool) Allocator() *alloc.Allocator { return p.al }

// Layout returns the pool's data layout.
func (p *Pool) Layout() stripe.Layout { return p.layout }

// Name returns the pool's name.
func (p *Pool) Name() string { return p.name }

// Close stops the cleaner and the committer, flushes and commits what is
// pending, and leaves the open sets open (the next Open resumes them).
// The store is not closed.
func (p *Pool) Close() error {
	var err error
	p.closeOnce.Do(func() {
		close(p.closed)
		p.stopCleaner()
		close(p.quit)
		p.wg.Wait()
		p.wmu.Lock()
		open := append(slices.Clone(p.fgs), p.cl)
		p.wmu.Unlock()
		for _, s := range open {
			if s != nil && s.w != nil {
				s.io.Lock()
				if _, ferr := s.w.Flush(); ferr != nil {
					err = errors.Join(err, ferr)
				}
				s.io.Unlock()
			}
		}
	})
	return err
}

func (p *Pool) isClosed() bool {
	select {
	case <-p.closed:
		return true
	default:
		return false
	}
}

// checkOwner validates an owner name.
func checkOwner(owner []byte) error {
	if len(owner) == 0 || len(owner) > MaxOwner {
		return fmt.Errorf("%w: owner of %d bytes (1 to %d)", ErrInvalid, len(owner), MaxOwner)
	}
	return nil
}

// LegacyAllocPool is the pool whose allocator trees have no pool name in
// them (alloc.segments, ...): the node's default pool, which formats made
// before a node could have several pools created that way.
const LegacyAllocPool = "default"
