package pool

import (
	"context"
	"errors"
	"fmt"

	"github.com/plinth-storage/plinth/btree/store"
)

// ErrReadOnly: the pool was opened by OpenReadOnly and changes nothing.
var ErrReadOnly = errors.New("pool opened read-only")

// OpenReadOnly opens the pool for inspection (fsck), normally on a store
// opened by store.OpenReadOnly. Unlike Open it creates no tree (the pool's
// index trees must exist: ErrCorrupt wrapping store.ErrNoTree otherwise),
// does not resume the sets left open (no zone is padded or finished, no
// frontier committed, no empty set released) and runs neither the
// committer nor the cleaner. Reads, Check, DeepScan and FSStat work; a
// damaged stripe a read meets is reported as an event and not queued for
// repair; every change fails with ErrReadOnly. The allocator is opened
// from its trees (alloc.Open), which writes only to complete tables a
// crash left unfinished: on a read-only store that fails, and so does
// OpenReadOnly.
func OpenReadOnly(ctx context.Context, st *store.Store, cfg Config, opts Options) (*Pool, error) {
	p, err := openExisting(ctx, st, cfg, opts)
	if err != nil {
		return nil, err
	}
	p.inspect = true
	p.wg.Add(1)
	go p.refuseCommits()
	p.startCleaner() // manual: it only sets the scrub's rate limiter up
	return p, nil
}

// openExisting opens a pool whose index trees must exist (none is
// created), with its allocator, the cleaner manual and nothing resumed:
// the start of OpenReadOnly and OpenForRepair.
func openExisting(ctx context.Context, st *store.Store, cfg Config, opts Options) (*Pool, error) {
	opts.Cleaner.Manual = true
	p, ap, err := newPool(st, cfg, opts)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, ti := range st.Trees() {
		have[ti.Name] = true
	}
	for _, name := range []string{p.heads, p.extents, p.repairs, p.pending} {
		if !have[name] {
			return nil, fmt.Errorf("%w: pool %s: index tree %s: %w", ErrCorrupt, cfg.Name, name, store.ErrNoTree)
		}
	}
	if err := p.openAllocator(ctx, ap); err != nil {
		return nil, err
	}
	return p, nil
}

// refuseCommits stands in for the committer of a read-only pool: every
// submitted op fails with ErrReadOnly.
func (p *Pool) refuseCommits() {
	defer p.wg.Done()
	for {
		select {
		case r := <-p.commits:
			for i := range r.results {
				r.results[i] = ErrReadOnly
			}
			close(r.done)
		case <-p.quit:
			return
		}
	}
}
