package pool

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/datalog"
	"github.com/plinth-storage/plinth/seg"
)

// Rebuild event kinds.
const (
	EventRebuildStart  = "rebuild-start"
	EventMemberRebuilt = "member-rebuilt"
	EventRebuildFailed = "rebuild-failed" // one member; the rebuild goes on with the others
	EventRebuildDone   = "rebuild-done"
)

// RebuildOptions tune a rebuild. Zero values mean the defaults.
type RebuildOptions struct {
	// Rate bounds the bytes per second the rebuild reads from the
	// surviving drives (default 256 MiB/s): the foreground keeps the rest.
	Rate int64
	// Parallel is how many sets are rebuilt at once (default 4): their
	// members lie on different drives, so every surviving drive reads and
	// every drive with room writes.
	Parallel int
	// Progress, when set, is called as the rebuild advances.
	Progress func(RebuildProgress)
}

// RebuildProgress is where a rebuild stands.
type RebuildProgress struct {
	Started     time.Time
	SetsTotal   int   // sets with a member to rebuild
	SetsDone    int   // of them, finished (rebuilt, or failed)
	MembersDone int   // members rebuilt
	Bytes       int64 // written to new members
	Failed      int   // members that could not be rebuilt (yet)
	// ETA is the expected time left, from the pace so far (0 until a set
	// is done).
	ETA time.Duration
}

// RebuildResult is what a rebuild did.
type RebuildResult struct {
	RebuildProgress
	Errors []error // the members that could not be rebuilt, and why
}

// Rebuild reconstructs every member of the pool's sets that lies on a
// drive marked faulty or out (alloc.Faulty, alloc.Out) onto a segment of
// another drive — a spare's first — and switches the set to it, one
// transaction per member (alloc.BeginReplace, datalog.RebuildMember,
// alloc.CommitReplace). Sets that lost the most members go first, several
// at once. Open sets with a member on such a drive are sealed first (new
// writes go to sets on healthy drives). Replacements a crash left pending
// are aborted and done again. A member that cannot be rebuilt (no room on
// the healthy drives, more damage than parity covers) is reported and left
// as it is; the set stays readable through parity while K allows. The
// rebuild is rate-limited (RebuildOptions.Rate) and can be stopped with
// ctx; a later Rebuild takes up what is left.
func (p *Pool) Rebuild(ctx context.Context, o RebuildOptions) (RebuildResult, error) {
	// One rebuild at a time: a second would abort the first's pending
	// replacements.
	p.rebuildMu.Lock()
	defer p.rebuildMu.Unlock()
	if o.Rate <= 0 {
		o.Rate = 256 << 20
	}
	if o.Parallel <= 0 {
		o.Parallel = 4
	}
	var res RebuildResult
	res.Started = p.opts.Now()
	bad := map[uint32]bool{}
	for _, d := range p.al.Drives() {
		if d.Health == alloc.Faulty || d.Health == alloc.Out {
			bad[d.Position] = true
		}
	}
	if len(bad) == 0 {
		return res, nil
	}
	if err := p.sealStreamsOn(ctx, bad); err != nil {
		return res, err
	}
	if err := p.abortReplacements(ctx); err != nil {
		return res, err
	}
	var ids []alloc.SetID
	for pos := range bad {
		on, err := p.al.SetsOn(ctx, pos)
		if err != nil {
			return res, fmt.Errorf("rebuild: %w", err)
		}
		for _, id := range on {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	// Most endangered first: SetsOn orders each drive's sets so; across
	// drives, order again by lost members.
	lostOf := map[alloc.SetID]int{}
	sources := map[alloc.SetID][]uint32{} // the drives a set's rebuild reads
	for _, id := range ids {
		if s, err := p.al.Lookup(id); err == nil {
			for _, m := range s.Members {
				if bad[m.Drive] {
					lostOf[id]++
				} else {
					sources[id] = append(sources[id], m.Drive)
				}
			}
		}
	}
	slices.SortStableFunc(ids, func(a, b alloc.SetID) int { return lostOf[b] - lostOf[a] })
	res.SetsTotal = len(ids)
	p.event(Event{Kind: EventRebuildStart, Detail: fmt.Sprintf("%d sets have members on drives %v (faulty or out)", len(ids), keys(bad))})
	wait := paced(o.Rate)
	var mu sync.Mutex
	report := func() {
		if o.Progress == nil {
			return
		}
		pr := res.RebuildProgress
		if pr.SetsDone > 0 && pr.SetsDone < pr.SetsTotal {
			el := p.opts.Now().Sub(pr.Started)
			pr.ETA = time.Duration(float64(el) / float64(pr.SetsDone) * float64(pr.SetsTotal-pr.SetsDone))
		}
		o.Progress(pr)
	}
	sem := make(chan struct{}, o.Parallel)
	var wg sync.WaitGroup
	load := newRebuildLoad()
	load.plan(ids, sources)
	for queue := slices.Clone(ids); len(queue) > 0; {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		var id alloc.SetID
		id, queue = load.next(queue, lostOf, sources) // counts its sources
		wg.Add(1)
		go func() {
			defer func() { load.add(sources[id], -1); <-sem; wg.Done() }()
			members, bytes, errs := p.rebuildSet(ctx, id, bad, wait, load)
			mu.Lock()
			res.SetsDone++
			res.MembersDone += members
			res.Bytes += bytes
			res.Failed += len(errs)
			res.Errors = append(res.Errors, errs...)
			report()
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return res, err
	}
	p.event(Event{Kind: EventRebuildDone, Detail: fmt.Sprintf("%d members of %d sets rebuilt (%d bytes) in %v; %d could not be",
		res.MembersDone, res.SetsTotal, res.Bytes, p.opts.Now().Sub(res.Started).Round(time.Millisecond), res.Failed)})
	return res, nil
}

// rebuildSet rebuilds the members of one set that lie on bad drives.
func (p *Pool) rebuildSet(ctx context.Context, id alloc.SetID, bad map[uint32]bool, wait func(context.Context, int) error, load *rebuildLoad) (members int, bytes int64, errs []error) {
	s, err := p.al.Lookup(id)
	if errors.Is(err, alloc.ErrNoSet) {
		return 0, 0, nil // released since: nothing to rebuild
	}
	if err != nil {
		return 0, 0, []error{fmt.Errorf("set %d: %w", id, err)}
	}
	for i, m := range s.Members {
		if !bad[m.Drive] {
			continue
		}
		n, err := p.rebuildMember(ctx, id, i, wait, nil, load)
		if errors.Is(err, alloc.ErrNoSet) {
			return members, bytes, errs // released meanwhile
		}
		if err != nil {
			err = fmt.Errorf("set %d member %d (drive %d): %w", id, i, m.Drive, err)
			p.event(Event{Kind: EventRebuildFailed, Set: uint64(id), Drive: m.Drive, HasDrive: true, Detail: err.Error()})
			errs = append(errs, err)
			if ctx.Err() != nil {
				return members, bytes, errs
			}
			continue
		}
		members++
		bytes += n
	}
	return members, bytes, errs
}

// rebuildMember rebuilds member i of set id onto a new segment and
// switches the set to it.
func (p *Pool) rebuildMember(ctx context.Context, id alloc.SetID, i int, wait func(context.Context, int) error, onto *uint32, load *rebuildLoad) (int64, error) {
	var r alloc.Replacement
	var err error
	switch {
	case onto != nil:
		r, err = p.al.BeginReplaceOn(ctx, id, i, *onto)
	case load != nil:
		r, err = p.beginReplaceSpread(ctx, id, i, load)
	default:
		r, err = p.al.BeginReplace(ctx, id, i)
	}
	if err != nil {
		return 0, err
	}
	if load != nil {
		defer load.add([]uint32{r.Target.Drive}, -1) // beginReplaceSpread counted it
	}
	abort := func(cause error) error {
		if aerr := p.al.AbortReplace(context.Background(), id, i); aerr != nil && !errors.Is(aerr, alloc.ErrNoSet) {
			return errors.Join(cause, aerr)
		}
		return cause
	}
	s, err := p.al.Lookup(id)
	if err != nil {
		return 0, abort(err)
	}
	d, ok := p.drives[r.Target.Drive]
	if !ok || d.Dev == nil {
		return 0, abort(fmt.Errorf("the target's drive %d has no device", r.Target.Drive))
	}
	loc, err := seg.Locate(d.Dev, d.Label.Layout, r.Target.Segment)
	if err != nil {
		return 0, abort(err)
	}
	target := datalog.Member{Loc: loc, Node: d.Label.Node, Drive: d.Label.Drive, Generation: r.Target.Gen}
	rep, err := datalog.RebuildMember(ctx, p.dataSet(s), i, target, s.Frontier, datalog.RebuildOptions{Wait: wait})
	if err != nil {
		return 0, abort(err)
	}
	if err := p.al.CommitReplace(ctx, id, i); err != nil {
		return 0, abort(err)
	}
	p.dropReader(id)
	p.event(Event{Kind: EventMemberRebuilt, Set: uint64(id), Drive: r.Target.Drive, HasDrive: true,
		Detail: fmt.Sprintf("member %d rebuilt onto drive %d segment %d: %d stripes, %d bytes", i, r.Target.Drive, r.Target.Segment, rep.Stripes, rep.Bytes)})
	return rep.Bytes, nil
}

// beginReplaceSpread begins the replacement of member i of set id on the
// least busy drive that can take it (see rebuildLoad), or where the
// allocator's own choice puts it when that drive cannot. On success the
// target's drive is counted in load (the caller takes it off when done).
func (p *Pool) beginReplaceSpread(ctx context.Context, id alloc.SetID, i int, load *rebuildLoad) (alloc.Replacement, error) {
	s, err := p.al.Lookup(id)
	if err != nil {
		return alloc.Replacement{}, err
	}
	taken := map[uint32]bool{}
	for _, m := range s.Members {
		taken[m.Drive] = true
	}
	for _, r := range s.Replacing {
		taken[r.Target.Drive] = true
	}
	if d, ok := load.target(p.al.Drives(), taken); ok {
		r, err := p.al.BeginReplaceOn(ctx, id, i, d)
		if err == nil {
			return r, nil
		}
		load.add([]uint32{d}, -1)
		if !errors.Is(err, alloc.ErrNoSpace) {
			return r, err
		}
	}
	r, err := p.al.BeginReplace(ctx, id, i)
	if err == nil {
		load.add([]uint32{r.Target.Drive}, 1)
	}
	return r, err
}

// sealStreamsOn retires the open streams with a member on a bad drive and
// waits until the committer has sealed them: a rebuild reconstructs
// complete streams, and new writes belong on healthy drives.
func (p *Pool) sealStreamsOn(ctx context.Context, bad map[uint32]bool) error {
	p.wmu.Lock()
	open := append(slices.Clone(p.fgs), p.cl)
	p.wmu.Unlock()
	var ids []alloc.SetID
	for _, s := range open {
		if s == nil || !slices.ContainsFunc(s.set.Members, func(m alloc.Member) bool { return bad[m.Drive] }) {
			continue
		}
		s.io.Lock()
		p.wmu.Lock()
		retired := s.retired
		p.wmu.Unlock()
		if !retired {
			_ = p.retire(s) // a failure retires it too; the committer seals it
		}
		s.io.Unlock()
		ids = append(ids, s.set.ID)
	}
	if len(ids) == 0 {
		return nil
	}
	// An empty commit makes the committer advance, seal and release them.
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := p.submit(ctx); err != nil {
			return fmt.Errorf("rebuild: seal the open sets: %w", err)
		}
		sealed := true
		for _, id := range ids {
			if s, err := p.al.Lookup(id); err == nil && s.State == alloc.StateOpen {
				sealed = false
			}
		}
		if sealed {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("rebuild: sets %v still open after a minute (writes into them not committed)", ids)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// abortReplacements gives up replacements a crash (or a failed rebuild)
// left pending: their targets are redone from scratch.
func (p *Pool) abortReplacements(ctx context.Context) error {
	var pending []alloc.Replacement
	for r, err := range p.al.Replacements(ctx) {
		if err != nil {
			return fmt.Errorf("rebuild: %w", err)
		}
		pending = append(pending, r)
	}
	for _, r := range pending {
		if err := p.al.AbortReplace(ctx, r.Set, r.Member); err != nil && !errors.Is(err, alloc.ErrNoSet) {
			return fmt.Errorf("rebuild: abort %s: %w", r, err)
		}
	}
	return nil
}

func keys(m map[uint32]bool) []uint32 {
	var out []uint32
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// paced returns a wait function that holds callers to rate bytes/s.
func paced(bytesPerSec int64) func(context.Context, int) error {
	limiter := rate.NewLimiter(rate.Limit(bytesPerSec), int(min(bytesPerSec, 8<<20)))
	return func(ctx context.Context, n int) error {
		for n > 0 {
			k := min(n, limiter.Burst())
			if err := limiter.WaitN(ctx, k); err != nil {
				return err
			}
			n -= k
		}
		return nil
	}
}
