package pool

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/stripe"
)

// CleanerOptions tunes the cleaner. Zero values mean the defaults.
type CleanerOptions struct {
	// Disabled stops background cleaning (Clean still works); the repair
	// queue is still worked in the background.
	Disabled bool
	// Manual stops all background work: cleaning and repairs happen only
	// when Clean and Repair are called.
	Manual bool
	// StartFree: the cleaner starts when the free part of the pool's
	// usable space falls below it (default 0.15) and stops once it is
	// above StopFree (default 0.25).
	StartFree, StopFree float64
	// MaxUtilization: sets fuller than this are not worth cleaning
	// (default 0.9).
	MaxUtilization float64
	// Rate bounds the bytes per second the cleaner and repairs read
	// (default 64 MiB/s), leaving the rest of the drives to the
	// foreground.
	Rate int64
	// Interval is how often the cleaner looks at the free space (default 1s).
	Interval time.Duration
}

func (o *CleanerOptions) defaults() {
	if o.StartFree <= 0 {
		o.StartFree = 0.15
	}
	if o.StopFree <= o.StartFree {
		o.StopFree = o.StartFree + 0.1
	}
	if o.MaxUtilization <= 0 || o.MaxUtilization > 1 {
		o.MaxUtilization = 0.9
	}
	if o.Rate <= 0 {
		o.Rate = 64 << 20
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
}

// CleanerStatus says what the cleaner is doing.
type CleanerStatus struct {
	Active    bool   // cleaning because free space is low
	Set       uint64 // the set being cleaned, 0: none
	Reason    string // why it last started or stopped
	LastError string
}

type cleanerState struct {
	mu      sync.Mutex
	status  CleanerStatus
	kick    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	limiter *rate.Limiter
	// one at a time: the background loop and explicit Clean calls
	run sync.Mutex
}

func (p *Pool) startCleaner() {
	c := &p.clean
	c.kick = make(chan struct{}, 1)
	c.stop = make(chan struct{})
	c.done = make(chan struct{})
	burst := int(min(p.opts.Cleaner.Rate, 1<<30))
	c.limiter = rate.NewLimiter(rate.Limit(p.opts.Cleaner.Rate), max(burst, int(p.sb)))
	if p.opts.Cleaner.Manual {
		close(c.done)
		return
	}
	go p.cleanerLoop()
}

func (p *Pool) stopCleaner() {
	close(p.clean.stop)
	<-p.clean.done
	p.bg.Wait()
}

// kickRepair wakes the cleaner's loop, which also works the repair queue.
func (p *Pool) kickRepair() {
	select {
	case p.clean.kick <- struct{}{}:
	default:
	}
}

func (p *Pool) cleanerStatus() CleanerStatus {
	p.clean.mu.Lock()
	defer p.clean.mu.Unlock()
	return p.clean.status
}

func (p *Pool) setStatus(f func(*CleanerStatus)) {
	p.clean.mu.Lock()
	f(&p.clean.status)
	p.clean.mu.Unlock()
}

// cleanerLoop works the repair queue and, when free space is low, cleans
// sets until it is not.
func (p *Pool) cleanerLoop() {
	defer close(p.clean.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-p.clean.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	t := time.NewTicker(p.opts.Cleaner.Interval)
	defer t.Stop()
	first := true
	for {
		if !first {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-p.clean.kick:
			}
		}
		first = false
		if err := p.Repair(ctx); err != nil && ctx.Err() == nil {
			p.setStatus(func(s *CleanerStatus) { s.LastError = err.Error() })
		}
		if _, err := p.writePending(ctx); err != nil && ctx.Err() == nil {
			p.event(Event{Kind: EventError, Detail: "write pending tombstones: " + err.Error()})
		}
		if p.opts.Cleaner.Disabled {
			continue
		}
		if _, err := p.cleanIfLow(ctx); err != nil && ctx.Err() == nil {
			p.setStatus(func(s *CleanerStatus) { s.LastError = err.Error() })
			p.event(Event{Kind: EventError, Detail: "cleaner: " + err.Error()})
		}
	}
}

// freeFraction is the free part of the pool's usable space.
func (p *Pool) freeFraction() float64 {
	fs := p.al.FSStat()
	if fs.UsableBytes == 0 {
		return 0
	}
	return float64(fs.FreeUsableBytes) / float64(fs.UsableBytes)
}

// cleanIfLow cleans sets while free space is below the thresholds.
func (p *Pool) cleanIfLow(ctx context.Context) (int, error) {
	o := p.opts.Cleaner
	n := 0
	for {
		free := p.freeFraction()
		active := p.cleanerStatus().Active
		switch {
		case !active && free < o.StartFree:
			reason := fmt.Sprintf("free space %.1f%% below %.0f%%", free*100, o.StartFree*100)
			p.setStatus(func(s *CleanerStatus) { s.Active, s.Reason = true, reason })
			p.event(Event{Kind: EventCleanerStart, Detail: reason})
		case active && free >= o.StopFree:
			reason := fmt.Sprintf("free space %.1f%% above %.0f%%", free*100, o.StopFree*100)
			p.setStatus(func(s *CleanerStatus) { s.Active, s.Reason = false, reason })
			p.event(Event{Kind: EventCleanerStop, Detail: reason})
			return n, nil
		case !active:
			return n, nil
		}
		cleaned, err := p.Clean(ctx, 1)
		n += cleaned
		if err != nil {
			return n, err
		}
		if cleaned == 0 {
			reason := fmt.Sprintf("free space %.1f%%, but no set is under %.0f%% live", p.freeFraction()*100, o.MaxUtilization*100)
			p.setStatus(func(s *CleanerStatus) { s.Active, s.Reason = false, reason })
			p.event(Event{Kind: EventCleanerStop, Detail: reason})
			return n, nil
		}
	}
}

// Clean cleans up to max sets now, best first by cost-benefit (sets left
// half-cleaned by a crash first), whatever the free space. It returns how
// many it cleaned.
func (p *Pool) Clean(ctx context.Context, max int) (int, error) {
	p.clean.run.Lock()
	defer p.clean.run.Unlock()
	var todo []alloc.SetID
	for s, err := range p.al.Sets(ctx, alloc.StateCleaning) {
		if err != nil {
			return 0, err
		}
		todo = append(todo, s.ID)
	}
	if len(todo) < max {
		cands, err := p.al.Cleanable(ctx, max-len(todo))
		if err != nil {
			return 0, err
		}
		for _, c := range cands {
			if c.Utilization <= p.opts.Cleaner.MaxUtilization {
				todo = append(todo, c.ID)
			}
		}
	}
	n := 0
	for _, id := range todo[:min(len(todo), max)] {
		if err := p.cleanSet(ctx, id); err != nil {
			return n, err
		}
		n++
	}
	// Deletes made while the pool was full wait for room for their
	// tombstones' records.
	if _, err := p.writePending(ctx); err != nil {
		return n, err
	}
	return n, nil
}

// cleanSet moves a set's live records to the cleaner's set, stripe by
// stripe, each stripe's moves committed in one transaction that switches
// the index to the new copies; the set is released by the commit that
// takes its last live byte.
func (p *Pool) cleanSet(ctx context.Context, id alloc.SetID) error {
	s, err := p.al.Lookup(id)
	if err != nil {
		return err
	}
	if s.State == alloc.StateSealed {
		if err := p.al.MarkCleaning(ctx, id); err != nil {
			return err
		}
	}
	p.setStatus(func(c *CleanerStatus) { c.Set = uint64(id) })
	defer p.setStatus(func(c *CleanerStatus) { c.Set = 0 })
	var unreadable []int64
	moved := int64(0)
	var mv moves
	// Moves are committed every moveBatch stripes' worth, and at the end.
	const moveBatch = 16
	flush := func() error {
		n, err := p.commitMoves(ctx, &mv)
		moved += n
		return err
	}
	for st := int64(0); st*p.sb < s.Frontier; st++ {
		err := p.collectStripe(ctx, s, st, &mv)
		if errors.Is(err, alloc.ErrNoSet) {
			break // the commit that took its last live byte released it
		}
		if errors.Is(err, stripe.ErrUnrecoverable) || errors.Is(err, ErrCorrupt) {
			unreadable = append(unreadable, st)
			continue
		}
		if err != nil {
			mv.abandon(p)
			return fmt.Errorf("clean set %d: stripe %d: %w", id, st, err)
		}
		if mv.bytes >= moveBatch*p.sb {
			if err := flush(); err != nil {
				return fmt.Errorf("clean set %d: %w", id, err)
			}
		}
	}
	if err := flush(); err != nil {
		return fmt.Errorf("clean set %d: %w", id, err)
	}
	// Let the committer release the set if its last commit emptied it.
	after, err := p.al.Lookup(id)
	if errors.Is(err, alloc.ErrNoSet) {
		p.stats.setsCleaned.Add(1)
		p.event(Event{Kind: EventSetCleaned, Set: uint64(id), Detail: fmt.Sprintf("%d live bytes moved of %d written", moved, s.Frontier)})
		return nil
	}
	if err != nil {
		return err
	}
	if after.Live == 0 {
		p.maybeRelease(ctx, id)
		p.stats.setsCleaned.Add(1)
		p.event(Event{Kind: EventSetCleaned, Set: uint64(id), Detail: fmt.Sprintf("%d live bytes moved of %d written", moved, s.Frontier)})
		return nil
	}
	return fmt.Errorf("%w: set %d keeps %d live bytes after cleaning (unreadable stripes %v): left in the cleaning state for the checker and repair", ErrCorrupt, id, after.Live, unreadable)
}

// relocateStripe moves the live records of one stripe of set s to the
// cleaner's set and commits the move. It returns the record bytes moved.
func (p *Pool) relocateStripe(ctx context.Context, s alloc.Set, st int64) (int64, error) {
	var mv moves
	if err := p.collectStripe(ctx, s, st, &mv); err != nil {
		mv.abandon(p)
		return 0, err
	}
	return p.commitMoves(ctx, &mv)
}

// moves are relocations appended to the cleaner's set and not committed.
type moves struct {
	ops   []op
	bytes int64
}

func (mv *moves) abandon(p *Pool) {
	for _, o := range mv.ops {
		for _, a := range o.exts {
			a.s.pending.Add(-1)
		}
	}
	*mv = moves{}
}

// collectStripe appends copies of the live records of stripe st of set s
// to the cleaner's set, adding the relocations to mv. The attrs record of
// a write that is still its owner's is copied too: nothing references it
// and it counts as dead space, but it is how an index rebuilt from the
// logs (fsck --rebuild-index) gets the object's attributes and size back,
// so it must not vanish with the set it was written in. The caller commits
// them (commitMoves) or abandons them; many stripes' moves go in one
// commit, so that the copies of partly dead stripes pack together instead
// of each padding a stripe of its own.
func (p *Pool) collectStripe(ctx context.Context, s alloc.Set, st int64, mv *moves) error {
	from := st * p.sb
	to := min(from+p.sb, s.Frontier)
	if err := p.clean.limiter.WaitN(ctx, int(to-from)); err != nil {
		return err
	}
	buf := p.chunk()
	defer putChunk(buf)
	b := buf[:to-from]
	p.gate.RLock()
	r, err := p.reader(s.ID, to)
	var rep stripe.Report
	if err == nil {
		rep, err = r.ReadAt(b, from)
	}
	p.gate.RUnlock()
	if !clean(rep) {
		p.event(Event{Kind: EventDegradedRead, Set: uint64(s.ID), Stripe: st, Detail: fmt.Sprintf("while moving records: missing %v, corrupt %v, rebuilt %v", rep.Missing, rep.Corrupt, rep.Rebuilt)})
	}
	if err != nil {
		return err
	}
	recs, err := scanStripeAll(b, from, true)
	if err != nil {
		p.event(Event{Kind: EventError, Set: uint64(s.ID), Stripe: st, Detail: err.Error()})
		return err
	}
	for _, rc := range recs {
		here := loc{set: s.ID, off: rc.at, len: rc.size()}
		live, err := p.liveAt(rc, here)
		if err != nil {
			return err
		}
		if !live {
			continue
		}
		exts, err := p.appendRecords(ctx, true, 0, rc.kind, rc.owner, rc.version, int64(rc.offset), rc.data, nil)
		o := op{kind: opRelocate, owner: append([]byte(nil), rc.owner...), version: rc.version, exts: exts, old: here, offset: int64(rc.offset)}
		switch rc.kind {
		case kindTombstone:
			o.kind = opRelocateTomb
		case kindAttrs:
			o.kind = opRelocateAttrs
		}
		mv.ops = append(mv.ops, o)
		if o.kind != opRelocateAttrs {
			mv.bytes += here.len
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// commitMoves commits collected relocations: each switches the index to
// the copy only where it still points at the original.
func (p *Pool) commitMoves(ctx context.Context, mv *moves) (int64, error) {
	defer func() { *mv = moves{} }()
	if len(mv.ops) == 0 {
		return 0, nil
	}
	res, err := p.submit(ctx, mv.ops...)
	if err != nil {
		return 0, err
	}
	var moved int64
	for i, e := range res {
		switch {
		case e == nil && mv.ops[i].kind == opRelocateAttrs: // not live bytes
		case e == nil:
			moved += mv.ops[i].old.len
		case errors.Is(e, errMoved):
		default:
			return moved, e
		}
	}
	p.stats.bytesRelocated.Add(moved)
	return moved, nil
}

// liveAt reports whether the index still points at a record found at here
// (for an attrs record, which nothing points at: whether its write is
// still the owner's).
func (p *Pool) liveAt(rc scanned, here loc) (bool, error) {
	if rc.kind == kindAttrs || rc.kind == kindTombstone {
		v, ok, err := p.st.Get(p.heads, rc.owner)
		if err != nil || !ok {
			return false, err
		}
		h, err := decodeHead(v)
		if err != nil {
			return false, fmt.Errorf("head of %q: %w", rc.owner, err)
		}
		if rc.kind == kindAttrs {
			return h.state == stateData && h.version == rc.version, nil
		}
		return h.state == stateTombstone && h.tomb == here, nil
	}
	v, ok, err := p.st.Get(p.extents, extentKey(rc.owner, int64(rc.offset)))
	if err != nil || !ok {
		return false, err
	}
	e, err := decodeExtent(v, int64(rc.offset))
	if err != nil {
		return false, fmt.Errorf("extent of %q at %d: %w", rc.owner, rc.offset, err)
	}
	return e.rec == here, nil
}
