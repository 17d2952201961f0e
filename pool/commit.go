package pool

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/btree/store"
)

type opKind uint8

const (
	opPut opKind = iota + 1
	opDelete
	opRelocate     // a data record moved by the cleaner or a repair
	opRelocateTomb // a tombstone record moved
	opRepairQueue  // a damaged stripe found
	opRepairDone   // a damaged stripe's records moved
	opTombWritten  // a pending tombstone's record written
	opForget       // a tombstone past the horizon collected
	// opRelocateAttrs: a write's attrs record copied by the cleaner or a
	// repair. Nothing references an attrs record, so the index does not
	// change; the op is there so that the copy is flushed with the
	// group's commit, before the set it came from can be released, and
	// it fails with errMoved when the write is no longer the owner's.
	opRelocateAttrs
)

// op is one change a commit makes to the index.
type op struct {
	kind    opKind
	owner   []byte
	version uint64
	size    int64      // put: the owner's new size
	exts    []appended // put: the new extents; delete, relocate: the one record
	old     loc        // relocate: where the record was
	offset  int64      // relocate: the record's logical offset
	set     alloc.SetID
	stripe  int64
	members uint64 // repair: bad members, as a bit mask
	attrs   []byte // put: the head's attributes
	// force: a put or delete that replaces the owner's state whatever
	// its version (PutValues: the caller has checked the versions).
	force bool
}

// errMoved: a relocation found the record no longer live where it was (an
// overwrite or delete got there first); its new copy is dead.
var errMoved = errors.New("record no longer live")

// commitReq is a group of ops submitted together; each gets its own result.
type commitReq struct {
	ops     []op
	results []error
	done    chan struct{}
	// with, when set, holds the submitter's own changes to commit with
	// the ops, and makes the request all or nothing: its ops are applied,
	// and with added to the commit's batch, only if none of them fails.
	with *store.Batch
	// bytes bounds what the request adds to the commit's transaction
	// (0: small, the index changes of a write or two).
	bytes int
}

// Estimates of what an op adds to a commit's transaction, for grouping:
// an owner's head and one or two extents, with their keys and tree
// names, and the set accounting.
const (
	smallReqBytes = 1 << 10
	opBytesFixed  = 600
	opBytesOwner  = 4 // times the owner's length
)

// opBytes bounds what an op adds to a commit's transaction.
func opBytes(o op) int {
	return opBytesFixed + opBytesOwner*len(o.owner) + 100*len(o.exts)
}

// submit hands ops to the committer and waits for their results. It
// returns an error for the whole request only when the pool is closed or
// ctx ends first (then the ops may still be committed).
func (p *Pool) submit(ctx context.Context, ops ...op) ([]error, error) {
	return p.submitWith(ctx, nil, 0, ops...)
}

// submitWith is submit with the submitter's own changes (commitReq.with)
// and what they and the ops add to a transaction.
func (p *Pool) submitWith(ctx context.Context, with *store.Batch, bytes int, ops ...op) ([]error, error) {
	r := &commitReq{ops: ops, results: make([]error, len(ops)), done: make(chan struct{}), with: with, bytes: bytes}
	select {
	case p.commits <- r:
	case <-p.quit:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case <-r.done:
		return r.results, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w (the change may still be committed)", ctx.Err())
	}
}

// committer makes groups of submitted ops durable: one data flush and one
// metadata commit for all of them.
func (p *Pool) committer() {
	defer p.wg.Done()
	// A group's transaction must fit the journal: requests that say they
	// are large (PutValues) are grouped up to that, and the one that
	// would not fit waits for the next group.
	budget := p.st.MaxCommit() - 64<<10
	var carry *commitReq
	for {
		var group []*commitReq
		bytes := 0
		if carry != nil {
			group, bytes, carry = append(group, carry), carry.size(), nil
		} else {
			select {
			case r := <-p.commits:
				group, bytes = append(group, r), r.size()
			case <-p.quit:
				for {
					select {
					case r := <-p.commits:
						p.commitGroup([]*commitReq{r})
					default:
						p.settle()
						return
					}
				}
			}
		}
	more:
		for len(group) < p.opts.MaxCommitGroup {
			select {
			case r := <-p.commits:
				if bytes+r.size() > budget {
					carry = r
					break more
				}
				group, bytes = append(group, r), bytes+r.size()
			default:
				break more
			}
		}
		p.commitGroup(group)
	}
}

// size bounds what the request adds to a commit's transaction.
func (r *commitReq) size() int { return max(r.bytes, smallReqBytes) }

// flushed is a stream's state as the committer flushed it.
type flushedStream struct {
	s     *stream
	end   int64
	err   error
	grown int64 // frontier growth to commit
}

// flushAll makes durable the records a group's ops reference: each
// stream they are in is flushed (and retired streams finished), the
// streams in parallel. Streams the group does not use are left alone, so
// that a flush pads no stripe that nobody needs on the media yet. Each
// stream is held (its io lock) only while it is flushed: writes to the
// others go on.
func (p *Pool) flushAll(group []*commitReq) []*flushedStream {
	used := map[*stream]bool{}
	for _, r := range group {
		for _, o := range r.ops {
			for _, a := range o.exts {
				used[a.s] = true
			}
		}
	}
	p.wmu.Lock()
	var all []*stream
	seen := map[*stream]bool{}
	for _, s := range append(append(slices.Clone(p.fgs), p.cl), p.retired...) {
		if s != nil && !seen[s] {
			seen[s] = true
			all = append(all, s)
		}
	}
	p.wmu.Unlock()
	out := make([]*flushedStream, len(all))
	var wg sync.WaitGroup
	for i, s := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = p.flushStream(s, used[s])
		}()
	}
	wg.Wait()
	return out
}

// flushStream flushes one stream if the group used it or it is retired,
// and finishes a retired one.
func (p *Pool) flushStream(s *stream, used bool) *flushedStream {
	s.io.Lock()
	defer s.io.Unlock()
	p.wmu.Lock()
	retired := s.retired
	p.wmu.Unlock()
	f := &flushedStream{s: s, end: s.flushed}
	if (used || retired) && s.w.End() > s.flushed || retired && !s.finished {
		var end int64
		var err error
		if retired {
			end, err = s.w.Flush()
		} else {
			var flush func() []error
			end, flush, err = s.w.BeginFlush()
			if err == nil {
				// The drives' cache flush runs with the stream free:
				// writers go on appending while it lasts.
				s.io.Unlock()
				errs := flush()
				s.io.Lock()
				err = s.w.EndFlush(errs)
			}
		}
		p.noteLost(s)
		if err != nil {
			f.err = p.writeFailed(s, err)
		} else {
			// A retire during the unlocked flush may have flushed further.
			s.flushed = max(s.flushed, end)
			f.end = s.flushed
			p.wmu.Lock()
			retired = s.retired
			p.wmu.Unlock()
			if retired && !s.finished {
				// Retired meanwhile (a lost member): what was appended
				// during the flush is flushed by Finish.
				ferr := s.w.Finish()
				if werr := s.w.Err(); werr != nil {
					f.err = p.writeFailed(s, werr)
				} else {
					s.flushed = s.w.End()
					f.end = s.flushed
					if ferr != nil {
						p.event(Event{Kind: EventIOError, Set: uint64(s.set.ID), Detail: fmt.Sprintf("finish zones: %v", ferr)})
					}
				}
				s.finished = true
			}
		}
	}
	if f.err == nil && s.flushed > s.advanced {
		f.grown = s.flushed - s.advanced
	}
	return f
}

// commitGroup commits one group.
func (p *Pool) commitGroup(group []*commitReq) {
	ctx := context.Background()
	p.commitMu.Lock()
	defer p.commitMu.Unlock()
	flushed := p.flushAll(group)
	failed := map[alloc.SetID]error{}
	for _, f := range flushed {
		if f.err != nil {
			failed[f.s.set.ID] = f.err
		}
	}
	finish := func(err error) {
		for _, r := range group {
			for i := range r.results {
				if r.results[i] == nil {
					r.results[i] = err
				}
			}
		}
	}
	defer func() {
		for _, r := range group {
			for _, o := range r.ops {
				for _, a := range o.exts {
					a.s.pending.Add(-1)
				}
			}
		}
		for _, r := range group {
			close(r.done)
		}
		p.settle()
	}()

	view, err := p.st.View(p.heads, p.extents, p.repairs)
	if err != nil {
		finish(fmt.Errorf("pool %s: read the index: %w", p.name, err))
		return
	}
	defer view.Close()
	// A Seal, Release or MarkCleaning running in another goroutine holds
	// its set for a moment; a batch that already holds sets cannot wait
	// for it (alloc.ErrBusy), so the batch is dropped and built again.
	var b *store.Batch
	var tx *txn
	var ids []alloc.SetID
	for attempt := 0; ; attempt++ {
		for _, r := range group {
			clear(r.results)
		}
		b, tx, ids, err = p.stage(ctx, view, group, flushed, failed)
		if err == nil {
			break
		}
		p.al.Abandon(b)
		if !errors.Is(err, alloc.ErrBusy) || attempt >= 1000 {
			finish(fmt.Errorf("pool %s: %w", p.name, err))
			return
		}
		time.Sleep(time.Duration(min(attempt+1, 20)) * 100 * time.Microsecond)
	}
	_, err = p.st.Commit(ctx, b)
	p.al.Done(b, err)
	if err != nil {
		p.commitFailed(err)
		finish(fmt.Errorf("pool %s: commit: %w", p.name, err))
		return
	}
	for _, f := range flushed {
		if f.grown != 0 {
			f.s.io.Lock()
			f.s.advanced += f.grown
			f.s.io.Unlock()
		}
	}
	p.stats.commits.Add(1)
	for _, id := range ids {
		if tx.delta[id] < 0 {
			p.maybeRelease(ctx, id)
		}
	}
}

// stage builds a group's batch: the frontier growth of the flushed
// streams, the index changes of every op, and the live-byte changes.
func (p *Pool) stage(ctx context.Context, view *store.View, group []*commitReq, flushed []*flushedStream, failed map[alloc.SetID]error) (*store.Batch, *txn, []alloc.SetID, error) {
	b := store.NewBatch()
	for _, f := range flushed {
		if f.grown > 0 {
			if err := p.al.Advance(ctx, b, f.s.set.ID, f.grown); err != nil {
				return b, nil, nil, err
			}
		}
	}
	tx := &txn{p: p, view: view, b: b, owners: map[string]*ownerState{}, delta: map[alloc.SetID]int64{}}
	for _, r := range group {
		if r.with != nil {
			if err := p.stageWhole(tx, r, failed); err == nil {
				b.Append(r.with)
			}
			continue
		}
		for i, o := range r.ops {
			if err := firstFailed(o, failed); err != nil {
				r.results[i] = err
				continue
			}
			r.results[i] = tx.apply(o)
		}
	}
	if tx.whole != nil {
		return b, nil, nil, tx.whole
	}
	ids := make([]alloc.SetID, 0, len(tx.delta))
	for id, d := range tx.delta {
		if d != 0 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		if err := p.al.AddLive(ctx, b, id, tx.delta[id]); err != nil {
			return b, nil, nil, fmt.Errorf("live bytes: %w", err)
		}
	}
	return b, tx, ids, nil
}

// stageWhole stages an all-or-nothing request: when a stream one of its
// ops is in failed to flush, none is applied and every result is that
// error. Its ops are forced puts and deletes, which fail to apply only on
// a corrupt index; that error then fails the whole commit, so that no op
// of the request commits without the others.
func (p *Pool) stageWhole(tx *txn, r *commitReq, failed map[alloc.SetID]error) error {
	for _, o := range r.ops {
		if err := firstFailed(o, failed); err != nil {
			for i := range r.results {
				r.results[i] = err
			}
			return err
		}
	}
	for i, o := range r.ops {
		if err := tx.apply(o); err != nil {
			r.results[i] = err
			tx.whole = fmt.Errorf("%q: %w", o.owner, err)
			return err
		}
	}
	return nil
}

// firstFailed is the error of a stream an op's records are in, if its
// flush failed.
func firstFailed(o op, failed map[alloc.SetID]error) error {
	for _, a := range o.exts {
		if err, ok := failed[a.ext.rec.set]; ok {
			return err
		}
	}
	return nil
}

// settle seals the retired streams whose every write is committed, and
// releases them if nothing in them is live.
func (p *Pool) settle() {
	ctx := context.Background()
	p.wmu.Lock()
	cands := slices.Clone(p.retired)
	p.wmu.Unlock()
	var ready []*stream
	for _, s := range cands {
		s.io.Lock()
		if s.finished && s.pending.Load() == 0 && s.advanced >= s.flushed {
			ready = append(ready, s)
		}
		s.io.Unlock()
	}
	if len(ready) == 0 {
		return
	}
	p.wmu.Lock()
	p.retired = slices.DeleteFunc(p.retired, func(s *stream) bool { return slices.Contains(ready, s) })
	p.wmu.Unlock()
	for _, s := range ready {
		if err := p.al.Seal(ctx, s.set.ID); err != nil {
			p.event(Event{Kind: EventError, Set: uint64(s.set.ID), Detail: fmt.Sprintf("seal: %v", err)})
			continue
		}
		p.maybeRelease(ctx, s.set.ID)
	}
}

// maybeRelease releases a sealed set in which nothing is live: its
// segments become free.
func (p *Pool) maybeRelease(ctx context.Context, id alloc.SetID) {
	s, err := p.al.Lookup(id)
	if err != nil || s.State == alloc.StateOpen || s.Live != 0 {
		return
	}
	if err := p.release(ctx, s); err != nil {
		p.event(Event{Kind: EventError, Set: uint64(id), Detail: fmt.Sprintf("release: %v", err)})
	}
}
