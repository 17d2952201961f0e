package fsck

import (
	"errors"
	"fmt"

	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/seg"
	"github.com/plinth-storage/plinth/wal"
)

// journal is phase 2: it opens the metadata store read-only — the newest
// checkpoint, then the journal after it replayed into memory, writing
// nothing — and reports what the replay met: damaged copies, failed or
// lagging mirrors, and the newest segment's tail on each mirror. A torn
// tail is what a crash during a commit leaves, and the store's rules
// expect it (the scanner tells it from corruption, recovery steps over
// it): it is a note, not an error.
func (c *checker) journal(bar Bar) (string, error) {
	mirrors := 0
	for _, d := range c.drives {
		if labelOf(d).Meta.Holds() {
			mirrors++
		}
	}
	if mirrors == 0 {
		c.stErr = "no metadata mirror is present"
		c.add(Finding{Phase: PhaseJournal, Severity: SevError,
			What: "no drive given holds the node's metadata (the journal and the B-trees live on its first drives)",
			Fix:  "check again with the node's metadata drives (positions 0-2); if every one is lost, fsck --rebuild-index (not built yet) will rebuild the index from the data logs"})
		return "no metadata mirror among the drives", nil
	}
	var replayed int64
	var events []wal.Event
	st, err := c.node.OpenStoreReadOnly(
		store.Options{CacheBytes: c.o.CacheBytes, CheckpointInterval: -1},
		store.ReadOnlyOptions{
			Replayed: func(wal.LSN) { replayed++; bar.Update(replayed, 0) },
			JournalEvents: func(e wal.Event) {
				c.mu.Lock()
				events = append(events, e)
				c.mu.Unlock()
			},
		})
	c.mu.Lock()
	evs := append([]wal.Event(nil), events...)
	c.mu.Unlock()
	reported := c.journalEvents(evs)
	if err != nil {
		c.stErr = "the metadata store could not be opened (see the error above)"
		f := Finding{Phase: PhaseTrees, Severity: SevError, What: fmt.Sprintf("the metadata checkpoint cannot be read: %v", err),
			Fix: "fsck --rebuild-index (not built yet) will rebuild the index from the data logs"}
		if errors.Is(err, store.ErrJournal) {
			f.Phase = PhaseJournal
			f.What = fmt.Sprintf("the journal cannot be replayed: %v", err)
			f.Fix = "the transactions after the last checkpoint cannot be recovered from the journal; fsck --rebuild-index (not built yet) will rebuild the index from the data logs"
		}
		c.add(f)
		return fmt.Sprintf("%d metadata mirrors; the store did not open", mirrors), nil
	}
	c.st = st
	c.tails(st.Journal().Tails(), reported)
	s := st.Stats()
	if replayed == 0 {
		return fmt.Sprintf("nothing to replay after checkpoint %d (LSN %d); %d of %d mirrors read",
			s.CheckpointGen, s.CheckpointLSN, s.Journal.Healthy, mirrors), nil
	}
	return fmt.Sprintf("replayed %d transactions after checkpoint %d (LSN %d to %d) from %d of %d mirrors",
		replayed, s.CheckpointGen, s.CheckpointLSN+1, s.AppliedLSN, s.Journal.Healthy, mirrors), nil
}

// journalEvents reports what the journal said during the replay, and
// returns the mirrors it named.
func (c *checker) journalEvents(evs []wal.Event) map[string]bool {
	named := map[string]bool{}
	for _, e := range evs {
		f := Finding{Phase: PhaseJournal, Severity: SevError, Where: c.at(e.Mirror)}
		switch e.Kind {
		case wal.EventBadCopy:
			f.What = "a journal copy is damaged or short on this mirror: " + e.Detail
			f.Fix = "the replay read it from another mirror; the segment is released once a checkpoint covers it (the node's next start makes one); fsck --repair makes that checkpoint now"
		case wal.EventMirrorFailed:
			f.What = "the journal cannot use this mirror: " + e.Detail
			f.Fix = "the journal runs on the other mirrors; replace the drive once metadata mirrors can be rebuilt (not supported yet): keep the node's other metadata drives healthy"
		case wal.EventMirrorBehind:
			f.What = "this mirror's journal is behind the others: " + e.Detail
			f.Fix = "the journal runs on the other mirrors until this one is rebuilt (not supported yet)"
		case wal.EventReadOnly:
			f.Where = Where{}
			f.What = "too few journal mirrors are healthy: " + e.Detail
			f.Fix = "the node would start read-only; bring back the missing metadata drives"
		default:
			continue
		}
		if e.Mirror != "" {
			named[e.Mirror] = true
		}
		c.add(f)
	}
	return named
}

// tails reports where the newest journal segment ends on each mirror: a
// torn tail, a mirror behind the others, a segment that cannot be read to
// its end (unless the replay reported that mirror already).
func (c *checker) tails(tails []wal.MirrorTail, reported map[string]bool) {
	var newest uint64
	for _, t := range tails {
		if t.Err == nil {
			newest = max(newest, t.Tail.NextSeq)
		}
	}
	for _, t := range tails {
		w := c.at(t.Mirror)
		w.JournalSegment = uint32p(t.Segment)
		switch {
		case t.Err != nil && reported[t.Mirror]:
		case errors.Is(t.Err, seg.ErrStale) || errors.Is(t.Err, seg.ErrNotWritten):
			c.add(Finding{Phase: PhaseJournal, Severity: SevInfo, Where: w,
				What: "this mirror lacks the newest journal segment, which holds nothing after the checkpoint (a crash while the journal started it)",
				Fix:  "nothing: the next start goes on without it"})
		case t.Err != nil:
			c.add(Finding{Phase: PhaseJournal, Severity: SevError, Where: w,
				What: fmt.Sprintf("the newest journal segment cannot be read to its end on this mirror: %v", t.Err),
				Fix:  "the replay used the other mirrors; the segment is released once a checkpoint covers it"})
		default:
			if t.Tail.Torn {
				w.Offset = int64p(t.Tail.ValidEnd)
				c.add(Finding{Phase: PhaseJournal, Severity: SevInfo, Where: w,
					What: fmt.Sprintf("the newest journal segment ends in a torn write after byte %d: the last write before a crash did not complete, and nothing in it was acknowledged", t.Tail.ValidEnd),
					Fix:  "nothing: the next start seals the segment and the journal goes on in a new one"})
			}
			if t.Tail.NextSeq < newest {
				c.add(Finding{Phase: PhaseJournal, Severity: SevInfo, Where: w,
					What: fmt.Sprintf("this mirror's journal ends at LSN %d, another's at %d: the last write reached some mirrors only (a crash during a commit)", t.Tail.NextSeq-1, newest-1),
					Fix:  "nothing: the next start copies the missing transactions to this mirror"})
			}
		}
	}
}
