package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// A mirror is partial when its label names an older checkpoint than the
// newest: a drive formatted in place of a lost mirror (its label names
// none), or one that was out while the others went on writing. Not when
// its label is just one behind and it holds a verifying copy of the newest
// checkpoint record: a crash between the label updates of one checkpoint
// leaves that, and such a mirror took all of the checkpoint but its label.
// A mirror that missed a checkpoint never passes that test: one that was
// out does not hold the record of the checkpoint it missed, and a partial
// one's label is never updated, so once a checkpoint has been made since
// it became partial its label is at least two behind. A partial mirror's
// metadata segments may hold nothing, or stale nodes, and its journal ring
// misses transactions. Open therefore gives it to the journal as joining
// (its ring is cleared and written from then on), writes it like the
// others, reads it only in segments opened since, and does not record
// checkpoints in its label.
//
// Resilvering is cleaning: every segment holding live nodes that a
// partial mirror lacks is rewritten (its nodes re-dirtied, Rewrite) a few
// at a time, each batch followed by a checkpoint, which writes them into a
// segment opened since, on every mirror. When no live byte is left in such
// a segment, the partial mirror holds everything the newest checkpoint
// reaches and, its journal having been written since Open, every
// transaction after it: it is whole again, and the next checkpoint (made
// at once) is recorded in its label. A crash before that leaves its label
// behind, so the next Open starts over; nothing the other mirrors hold is
// changed by a resilver except where checkpoints put nodes, as always.

// ResilverProgress describes the bringing up to date of partial mirrors.
type ResilverProgress struct {
	Mirrors   []string `json:"mirrors"`         // the partial mirrors
	Segments  int      `json:"segments"`        // metadata segments they lacked when it started
	Rewritten int      `json:"rewritten"`       // of those, rewritten so far
	Bytes     uint64   `json:"bytes"`           // the live bytes of those segments when it started
	BytesDone uint64   `json:"bytes_rewritten"` // of those, rewritten so far
	Done      bool     `json:"done"`            // every partial mirror that is still healthy is whole
}

// MirrorStats describes one metadata mirror.
type MirrorStats struct {
	Name    string
	Healthy bool
	Partial bool   // not whole yet: being resilvered
	Failure string // why it is not healthy
}

// resilverBatch bounds the live bytes rewritten between two checkpoints of
// a resilver: they are held in memory as dirty nodes until written.
func (s *Store) resilverBatch() uint64 { return uint64(max(s.opts.DirtyBytes/2, 1<<20)) }

// partialMirrors lists the healthy partial mirrors.
func (s *Store) partialMirrors() []*mirror {
	s.sp.mu.Lock()
	defer s.sp.mu.Unlock()
	var out []*mirror
	for _, m := range s.sp.mirrors {
		if m.healthy && m.partial {
			out = append(out, m)
		}
	}
	return out
}

// lacking lists the metadata segments holding live bytes that some
// partial mirror in ms has not been written whole since Open, and sums
// their live bytes. Called with ckptMu held.
func (s *Store) lacking(ms []*mirror) ([]int, uint64) {
	s.sp.mu.Lock()
	defer s.sp.mu.Unlock()
	var segs []int
	var bytes uint64
	for i, t := range s.sp.table {
		if t.Live == 0 {
			continue
		}
		if slices.ContainsFunc(ms, func(m *mirror) bool { return !m.fresh[i] }) {
			segs, bytes = append(segs, i), bytes+t.Live
		}
	}
	return segs, bytes
}

// Resilver brings every partial mirror up to date (see above), calling
// progress (when not nil) after each step, and returns once they are
// whole, or with ctx's error when it is done first (what was rewritten
// stays rewritten; a later call goes on from there). With no partial
// mirror it returns at once. A partial mirror that fails meanwhile is
// given up (it is failed as any mirror is) and the others go on.
func (s *Store) Resilver(ctx context.Context, progress func(ResilverProgress)) error {
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("resilver metadata mirrors: %w", err)
		}
		p, done, err := s.resilverStep()
		if progress != nil {
			progress(p)
		}
		if err != nil || done {
			return err
		}
	}
}

// resilverStep rewrites one batch of lacking segments, or, when none is
// left, declares the partial mirrors whole.
func (s *Store) resilverStep() (ResilverProgress, bool, error) {
	s.ckptMu.Lock()
	defer s.ckptMu.Unlock()
	if s.closed {
		return s.resilver, false, ErrClosed
	}
	if err := s.brokenErr(); err != nil {
		return s.resilver, false, err
	}
	partial := s.partialMirrors()
	if len(partial) == 0 {
		s.resilver.Done = s.resilver.Mirrors != nil
		return s.resilver, true, nil
	}
	segs, bytes := s.lacking(partial)
	if s.resilver.Mirrors == nil || s.resilver.Done {
		s.resilver = ResilverProgress{Segments: len(segs), Bytes: bytes}
		for _, m := range partial {
			s.resilver.Mirrors = append(s.resilver.Mirrors, m.name)
		}
		s.event("resilver-started", nil, fmt.Sprintf("rebuilding metadata mirrors %v from the others: %d metadata segments, %d live bytes to rewrite", s.resilver.Mirrors, len(segs), bytes))
	}
	if len(segs) == 0 {
		return s.resilver, true, s.whole(partial)
	}
	var batch []int
	var batchBytes uint64
	s.sp.mu.Lock()
	for _, i := range segs {
		if len(batch) > 0 && batchBytes+s.sp.table[i].Live > s.resilverBatch() {
			break
		}
		batch, batchBytes = append(batch, i), batchBytes+s.sp.table[i].Live
	}
	s.sp.mu.Unlock()
	if _, err := s.rewrite(batch); err != nil {
		return s.resilver, false, fmt.Errorf("resilver metadata mirrors: %w", err)
	}
	// The checkpoint moved every live node out of the batch: a segment
	// still counted live would be rewritten for ever.
	still, _ := s.lacking(s.partialMirrors())
	for _, i := range batch {
		if slices.Contains(still, i) {
			return s.resilver, false, fmt.Errorf("resilver metadata mirrors: %w: metadata segment %d still holds %d live bytes after its nodes were rewritten", ErrCorrupt, i, s.sp.table[i].Live)
		}
	}
	s.resilver.Rewritten += len(batch)
	s.resilver.BytesDone += batchBytes
	// The segments' counts are those of the checkpoint that found them:
	// the totals grow when later changes made more segments lacking (a
	// segment the partial mirror lacked fills no further, so they rarely
	// do).
	s.resilver.Segments = max(s.resilver.Segments, s.resilver.Rewritten+len(still))
	s.resilver.Bytes = max(s.resilver.Bytes, s.resilver.BytesDone)
	return s.resilver, false, nil
}

// whole declares the partial mirrors whole: everything live is in
// segments written on them since Open, and their journal copy has been
// written since Open too. A checkpoint records it in their labels.
// Called with ckptMu held.
func (s *Store) whole(partial []*mirror) error {
	var names []string
	for _, m := range partial {
		idx := slices.Index(s.sp.mirrors, m)
		if !s.journal.Healthy(idx) {
			s.sp.fail(m, errors.New("its journal copy failed while it was resilvered"))
			continue
		}
		s.sp.mu.Lock()
		m.partial = false
		s.sp.mu.Unlock()
		names = append(names, m.name)
	}
	if len(names) == 0 {
		return errors.New("resilver metadata mirrors: every partial mirror failed before it was whole")
	}
	if err := s.checkpoint(true); err != nil {
		return fmt.Errorf("resilver metadata mirrors: record the checkpoint in the labels of %v: %w", names, err)
	}
	s.resilver.Done = true
	s.event("resilver-done", nil, fmt.Sprintf("metadata mirrors %v hold the whole store again: %d metadata segments (%d bytes) rewritten", names, s.resilver.Rewritten, s.resilver.BytesDone))
	return nil
}

// resilverInBackground is Open's background resilver.
func (s *Store) resilverInBackground() {
	defer s.background.Done()
	s.KeepResilvering(nil)
}

// KeepResilvering runs Resilver until the partial mirrors are whole, stop
// is closed or the store closes; a failure is reported (event
// resilver-failed) and retried a minute later. With no partial mirror it
// returns at once.
func (s *Store) KeepResilvering(stop <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.closing:
		case <-stop:
		case <-ctx.Done():
		}
		cancel()
	}()
	for {
		err := s.Resilver(ctx, nil)
		if err == nil || ctx.Err() != nil || errors.Is(err, ErrClosed) {
			return
		}
		s.event("resilver-failed", nil, err.Error()+"; retrying in a minute")
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Minute):
		}
	}
}
