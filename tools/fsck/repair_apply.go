package fsck

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/pool"
)

// apply runs the accepted repairs on the stopped node, opened read and
// write through its normal layers (the drives exclusively, so still
// offline): labels first, then the metadata store, then each pool, and a
// checkpoint last. A repair that fails is reported and the others go on:
// each is a transaction of its own (or a checkpoint), so a failed one
// changed nothing that a durable state names.
func (p *plan) apply(ctx context.Context, o RepairOptions) {
	mirrorLabel := p.applyRestores(o.Open)
	node, err := appliance.OpenNodeWith(p.paths, appliance.NodeOptions{Open: o.Open})
	if err != nil {
		p.failRest(fmt.Errorf("open the drives read and write: %w", err))
		return
	}
	defer node.Close()
	for _, a := range p.pending(actLabel) {
		i := slices.IndexFunc(node.Drives, func(d *appliance.Drive) bool { return d.Path == a.drive })
		if i < 0 {
			p.finish(a, errors.New("the drive is not among those opened"), "")
			continue
		}
		lg := node.Drives[i].Label
		err := lg.Rewrite()
		p.finish(a, err, fmt.Sprintf("rewrote the label areas of %s: one record, sequence %d, in each area's place", a.drive, lg.Seq()))
		mirrorLabel = mirrorLabel || err == nil && a.mirror
	}
	if len(p.pending(-1)) == 0 && !mirrorLabel {
		return
	}
	cache := o.CacheBytes
	if cache <= 0 {
		cache = 64 << 20
	}
	st, err := node.OpenStore(store.Options{CacheBytes: cache, CheckpointInterval: -1, CheckpointBytes: 1 << 40, ManualResilver: true})
	if err != nil {
		p.failRest(fmt.Errorf("open the metadata store read and write: %w", err))
		return
	}
	defer func() {
		if err := st.Close(); err != nil {
			p.logf("fsck: closing the metadata store: %v", err)
		}
	}()
	p.applyStore(st)
	p.applyPools(ctx, node, st)
	for _, a := range p.pending(actClearLostFound) {
		n, err := clearLostFound(ctx, st)
		p.finish(a, err, fmt.Sprintf("emptied the lost+found listing (%s)", plural(n, "entry", "entries")))
	}
	journal := p.pending(actJournal)
	if len(journal) > 0 || mirrorLabel {
		// A mirror whose label names an older checkpoint is partial:
		// it gets the checkpoint in its label only once it holds the
		// whole store again.
		resilvered := ""
		err := st.Resilver(ctx, nil)
		if r := st.Stats().Resilver; err == nil && r.Done {
			resilvered = fmt.Sprintf("; rebuilt metadata mirrors %v from the others (%d metadata segments rewritten)", r.Mirrors, r.Rewritten)
		}
		if err == nil {
			err = st.ForceCheckpoint()
		}
		for _, a := range journal {
			s := st.Stats()
			p.finish(a, err, fmt.Sprintf("opened the journal read and write and made metadata checkpoint %d (LSN %d), recorded on every mirror%s", s.CheckpointGen, s.CheckpointLSN, resilvered))
		}
		if err != nil && len(journal) == 0 {
			p.logf("fsck: the checkpoint after rewriting a mirror's label failed: %v", err)
		}
	}
}

// applyStore runs the metadata store's repairs, each checked after by an
// inspection of the store.
func (p *plan) applyStore(st *store.Store) {
	for _, a := range p.pending(actMetaRewrite) {
		n, err := st.Rewrite(a.segments)
		if err == nil {
			err = badCopiesLeft(st, a.segments)
		}
		p.finish(a, err, fmt.Sprintf("rewrote %s from copies that verify onto every mirror (metadata checkpoint %d)", plural(n, "metadata node", "metadata nodes"), st.Stats().CheckpointGen))
	}
	for _, a := range p.pending(actMetaRecount) {
		changed, err := st.Recount()
		p.finish(a, err, fmt.Sprintf("recounted the metadata segments: %d entries corrected %v", len(changed), changed))
	}
}

// badCopiesLeft inspects the store again: an error if a copy in one of
// segments is still damaged.
func badCopiesLeft(st *store.Store, segments []int) error {
	var left []string
	err := st.Inspect(nil, func(pr store.Problem) {
		if errors.Is(pr.Err, store.ErrBadCopy) && slices.Contains(segments, pr.Segment) {
			left = append(left, pr.String())
		}
	})
	if err != nil {
		return fmt.Errorf("inspect the store after the rewrite: %w", err)
	}
	if len(left) > 0 {
		return fmt.Errorf("damaged copies remain after the rewrite: %v", left)
	}
	return nil
}

// applyPools opens the pools for repair and runs each one's repairs.
func (p *plan) applyPools(ctx context.Context, node *appliance.Node, st *store.Store) {
	var todo []*action
	for _, a := range p.pending(-1) {
		if a.pool != "" {
			todo = append(todo, a)
		}
	}
	if len(todo) == 0 {
		return
	}
	pools, err := node.OpenPoolsForRepair(ctx, st, pool.Options{Cleaner: pool.CleanerOptions{Manual: true, Rate: 1 << 40}})
	if err != nil {
		for _, a := range todo {
			p.finish(a, fmt.Errorf("open the pools for repair: %w", err), "")
		}
		return
	}
	defer func() {
		for _, pl := range pools {
			if err := pl.Close(); err != nil {
				p.logf("fsck: closing pool %s: %v", pl.Name(), err)
			}
		}
	}()
	for _, pl := range pools {
		var mine []*action
		for _, a := range todo {
			if a.pool == pl.Name() {
				mine = append(mine, a)
			}
		}
		if len(mine) > 0 {
			p.applyPool(ctx, st, pl, mine)
		}
	}
	for _, a := range todo {
		if a.status == "" {
			p.finish(a, fmt.Errorf("the node has no pool %q", a.pool), "")
		}
	}
}

// pending are the accepted repairs of kind k (-1: any kind) not run yet.
func (p *plan) pending(k actionKind) []*action {
	var out []*action
	for _, a := range p.actions {
		if a.accepted && a.status == "" && (k < 0 || a.kind == k) {
			out = append(out, a)
		}
	}
	return out
}

// finish records how a repair went.
func (p *plan) finish(a *action, err error, done string) {
	if err != nil {
		a.status, a.detail = actionFailed, err.Error()
		p.logf("fsck: repair failed: %s: %v", a.what, err)
		return
	}
	a.status, a.detail = actionDone, done
	p.logf("fsck: repaired: %s", done)
}

// failRest fails every accepted repair not run yet.
func (p *plan) failRest(err error) {
	for _, a := range p.pending(-1) {
		p.finish(a, err, "")
	}
}

func (p *plan) logf(format string, args ...any) {
	if p.log != nil {
		fmt.Fprintf(p.log, format+"\n", args...)
	}
}
