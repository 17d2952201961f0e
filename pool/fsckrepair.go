package pool

import (
	"context"
	"errors"
	"fmt"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/btree/store"
)

// OpenForRepair opens the pool for fsck's repair, on a store opened read
// and write while the node is stopped: the committer runs, so repairs go
// through the pool's normal write paths (commits, relocation, release),
// but unlike Open it creates no tree (they must exist: ErrCorrupt wrapping
// store.ErrNoTree otherwise) and does not resume the sets left open (no
// zone is padded or finished, no frontier committed, no empty set
// released): a repair changes only what the operator agreed to. The
// cleaner is manual. A set left open stays open; the node's next start
// resumes it.
func OpenForRepair(ctx context.Context, st *store.Store, cfg Config, opts Options) (*Pool, error) {
	p, err := openExisting(ctx, st, cfg, opts)
	if err != nil {
		return nil, err
	}
	p.wg.Add(1)
	go p.committer()
	p.startCleaner()
	return p, nil
}

// StripeRef names a damaged stripe for RepairStripes.
type StripeRef struct {
	Set    alloc.SetID
	Stripe int64
	// Members are the members found bad, as a bit mask (for the repair
	// queue's record).
	Members uint64
}

// RepairStripes is fsck's repair of damaged data and parity units: the
// stripes are queued in the repair tree as a degraded read queues them,
// then the queue is worked (Repair): each stripe's live records are read
// (through parity when a data unit is bad) and rewritten in the cleaner's
// set, the index switched to the copies one stripe per transaction, so the
// damaged units hold nothing live. It returns how many stripes had records
// moved.
func (p *Pool) RepairStripes(ctx context.Context, stripes []StripeRef) (int, error) {
	if p.inspect {
		return 0, ErrReadOnly
	}
	if len(stripes) == 0 {
		return 0, nil
	}
	ops := make([]op, len(stripes))
	for i, s := range stripes {
		ops[i] = op{kind: opRepairQueue, set: s.Set, stripe: s.Stripe, members: s.Members}
	}
	res, err := p.submit(ctx, ops...)
	if err != nil {
		return 0, fmt.Errorf("pool %s: queue the stripes for repair: %w", p.name, err)
	}
	if err := errors.Join(res...); err != nil {
		return 0, fmt.Errorf("pool %s: queue the stripes for repair: %w", p.name, err)
	}
	before := p.stats.repaired.Load()
	err = p.Repair(ctx)
	return int(p.stats.repaired.Load() - before), err
}

// ReleaseEmpty releases the sets among ids that are sealed or being
// cleaned and hold nothing live (orphaned space), as a start does: through
// the allocator, zones reset. Sets that are gone or not empty are skipped.
// It returns the sets released.
func (p *Pool) ReleaseEmpty(ctx context.Context, ids []alloc.SetID) ([]alloc.SetID, error) {
	if p.inspect {
		return nil, ErrReadOnly
	}
	p.clean.run.Lock()
	defer p.clean.run.Unlock()
	var out []alloc.SetID
	var errs []error
	for _, id := range ids {
		s, err := p.al.Lookup(id)
		switch {
		case errors.Is(err, alloc.ErrNoSet):
			continue
		case err != nil:
			errs = append(errs, err)
			continue
		case s.Live != 0 || (s.State != alloc.StateSealed && s.State != alloc.StateCleaning):
			continue
		}
		if err := p.release(ctx, s); err != nil {
			errs = append(errs, fmt.Errorf("pool %s: %w", p.name, err))
			continue
		}
		out = append(out, id)
	}
	return out, errors.Join(errs...)
}

// EmptySets lists the sets that are sealed or being cleaned with nothing
// live: orphaned space (a crash between the commit that emptied a set and
// its release leaves one, and so do fsck's repairs).
func (p *Pool) EmptySets(ctx context.Context) ([]alloc.SetID, error) {
	var out []alloc.SetID
	for s, err := range p.al.Sets(ctx, alloc.StateSealed, alloc.StateCleaning) {
		if err != nil {
			return nil, fmt.Errorf("pool %s: %w", p.name, err)
		}
		if s.Live == 0 {
			out = append(out, s.ID)
		}
	}
	return out, nil
}
