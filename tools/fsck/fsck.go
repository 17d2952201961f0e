package fsck

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/pool"
	"github.com/plinth-storage/plinth/superblock"
)

// Options says what to check and how.
type Options struct {
	// Drives are the paths of the node's drives, in any order.
	Drives []string
	// Deep reads every live record and every stripe, data and parity.
	Deep bool
	// Progress shows each phase's progress (nil: none).
	Progress Progress
	// Open opens a drive (default appliance.OpenDevice, exclusively).
	// Whatever it returns is wrapped read-only.
	Open func(path string) (dev.Device, error)
	// CacheBytes bounds the metadata node cache (default 64 MiB).
	CacheBytes int64

	// planRepair, when set, is called at the end of the check with the
	// store and pools still open (Repair plans with them).
	planRepair func(*checker)
}

// ErrNoDrives: Check was given no drive.
var ErrNoDrives = errors.New("no drives to check")

// Check checks the stopped node on o.Drives, writing nothing, and reports
// what it found. The error is an operational one (exit status
// ExitOperational): no drives, a drive that cannot be opened, one that
// another process owns (a *dev.BusyError naming it), drives that are not one node. Damage
// is never an error: it is in the Report, whose ExitCode is ExitErrors
// when any finding is an error.
func Check(ctx context.Context, o Options) (Report, error) {
	if len(o.Drives) == 0 {
		return Report{}, ErrNoDrives
	}
	if o.Open == nil {
		o.Open = appliance.OpenDevice
	}
	if o.Progress == nil {
		o.Progress = quiet{}
	}
	if o.CacheBytes <= 0 {
		o.CacheBytes = 64 << 20
	}
	c := &checker{ctx: ctx, o: o, r: &Report{Deep: o.Deep, Findings: []Finding{}}, missing: map[int]bool{}, positions: map[string]int{}}
	defer c.close()
	if err := c.phase(PhaseLabels, 1, int64(len(o.Drives)), "drives", c.labels); err != nil {
		return Report{}, err
	}
	steps := []struct {
		p     Phase
		unit  string
		run   func(Bar) (string, error)
		needs func() string // why the phase cannot run, "" when it can
	}{
		{PhaseJournal, "transactions", c.journal, func() string { return "" }},
		{PhaseTrees, "nodes", c.trees, c.needStore},
		{PhaseCross, "steps", c.cross, c.needPools},
		{PhaseDeep, "bytes", c.deep, c.needDeep},
	}
	for i, s := range steps {
		if err := ctx.Err(); err != nil {
			return Report{}, err
		}
		if why := s.needs(); why != "" {
			c.skip(s.p, i+2, why)
			continue
		}
		if err := c.phase(s.p, i+2, 0, s.unit, s.run); err != nil {
			return Report{}, err
		}
	}
	c.listLostFound()
	if o.planRepair != nil {
		o.planRepair(c)
	}
	if err := c.close(); err != nil {
		return Report{}, err
	}
	return *c.r, nil
}

// checker is one run of Check.
type checker struct {
	ctx context.Context
	o   Options
	r   *Report
	g   guard

	mu        sync.Mutex // guards what event callbacks touch
	drives    []*appliance.Drive
	positions map[string]int // drive path: position
	missing   map[int]bool
	node      *appliance.Node
	st        *store.Store
	stErr     string // why the store did not open
	pools     []*pool.Pool
	poolsErr  string
	crossSeen map[string]bool // cross-check problems, which the deep check repeats
	damaged   []poolDamage    // the deep check's stripe damage a repair can act on
	problems  []store.Problem // what Inspect found, for the repair's plan

	closeOnce sync.Once
	closeErr  error
}

// phase runs one phase with its progress and records what it checked. A
// write the guard refused meanwhile is reported (it would be a bug).
func (c *checker) phase(p Phase, i int, total int64, unit string, run func(Bar) (string, error)) error {
	c.r.phase(p) // the phases are reported in the order they run
	start := time.Now()
	refused := c.g.refused.Load()
	bar := c.o.Progress.Begin(p, i, len(Phases), total, unit)
	checked, err := run(bar)
	if err != nil {
		bar.End("stopped")
		return err
	}
	if n := c.g.refused.Load() - refused; n > 0 {
		c.add(Finding{Phase: p, Severity: SevWarning,
			What: fmt.Sprintf("a lower layer tried to write %d times during this phase; fsck refused every write, so nothing was changed", n),
			Fix:  "report this as a bug in plinth fsck"})
	}
	res := c.r.phase(p)
	res.Checked = checked
	res.Seconds = time.Since(start).Seconds()
	bar.End(checked + "; " + counts(res.Errors, res.Warns, res.Infos))
	return nil
}

// skip records a phase that cannot run.
func (c *checker) skip(p Phase, i int, why string) {
	c.r.phase(p).Skipped = why
	c.o.Progress.Begin(p, i, len(Phases), 0, "").End("skipped: " + why)
}

func (c *checker) add(f Finding) {
	c.mu.Lock()
	c.r.add(f)
	c.mu.Unlock()
}

// at is a Where naming a drive by path, with its position when known.
func (c *checker) at(path string) Where {
	w := Where{Drive: path}
	if pos, ok := c.positions[path]; ok {
		w.Position = intp(pos)
	}
	return w
}

// atPosition is a Where naming the drive at pos, with its path when present.
func (c *checker) atPosition(pos int) Where {
	w := Where{Position: intp(pos)}
	for path, p := range c.positions {
		if p == pos {
			w.Drive = path
		}
	}
	return w
}

func (c *checker) needStore() string {
	if c.st == nil {
		return c.stErr
	}
	return ""
}

func (c *checker) needPools() string { return c.needStore() }

func (c *checker) needDeep() string {
	if !c.o.Deep {
		return "not asked for (--deep reads every live record and every stripe, data and parity)"
	}
	if why := c.needStore(); why != "" {
		return why
	}
	return c.poolsErr
}

// close releases the pools, the store and the drives (writing nothing).
func (c *checker) close() error {
	c.closeOnce.Do(func() {
		var errs []error
		for _, p := range c.pools {
			errs = append(errs, p.Close())
		}
		if c.st != nil {
			errs = append(errs, c.st.Close())
		}
		for _, d := range c.drives {
			errs = append(errs, d.Dev.Close())
		}
		c.closeErr = errors.Join(errs...)
	})
	return c.closeErr
}

// labelOf is the label of an open drive.
func labelOf(d *appliance.Drive) superblock.Label { return d.Label.Label() }
