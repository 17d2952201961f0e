package store

import (
	"errors"
	"fmt"

	"github.com/plinth-storage/plinth/wal"
)

// errInspect is why a store opened by OpenReadOnly refuses changes.
var errInspect = errors.New("opened read-only for inspection")

// ErrJournal: OpenReadOnly found the checkpoint but could not replay the
// journal after it.
var ErrJournal = errors.New("journal cannot be replayed")

// ReadOnlyOptions tunes OpenReadOnly.
type ReadOnlyOptions struct {
	// Replayed, when set, is called after each journal transaction is
	// replayed (for progress).
	Replayed func(lsn wal.LSN)
	// JournalEvents, when set, receives the journal's events as the
	// journal reports them (Options.Events gets them as text).
	JournalEvents func(wal.Event)
}

// OpenReadOnly opens the store for inspection (fsck) and writes nothing to
// its mirrors: the newest checkpoint, then the journal after it replayed
// into the trees in memory (wal.OpenReadOnly: no mirror is brought up to
// date, no journal segment sealed or started), the open metadata segment
// left as it is (Open abandons it, finishing its zone), no background
// checkpoints and none at Close. Reads, views, Check and Inspect work;
// every change fails with ErrReadOnly. An error wrapping ErrJournal is
// the journal's; any other is the checkpoint's (its record or its trees).
func OpenReadOnly(opts Options, ro ReadOnlyOptions) (*Store, error) {
	s, err := newStore(opts)
	if err != nil {
		return nil, err
	}
	lsn, err := s.loadCheckpoint()
	if err != nil {
		return nil, err
	}
	s.broken = errInspect
	replay := s.replay
	if ro.Replayed != nil {
		replay = func(lsn wal.LSN, txn []byte) error {
			err := s.replay(lsn, txn)
			ro.Replayed(lsn)
			return err
		}
	}
	jo := s.journalOptions()
	if ro.JournalEvents != nil {
		events := jo.Events
		jo.Events = func(e wal.Event) {
			ro.JournalEvents(e)
			events(e)
		}
	}
	s.journal, err = wal.OpenReadOnly(jo, lsn, replay)
	if err != nil {
		return nil, fmt.Errorf("metadata store: open journal: %w: %w", ErrJournal, err)
	}
	s.applied = s.journal.Stats().NextLSN - 1
	// The loop checkpoints nothing on a broken store; Close waits for it.
	go s.loop()
	return s, nil
}

// Journal returns the store's journal (to inspect it: wal.WAL.Tails).
func (s *Store) Journal() *wal.WAL { return s.journal }
