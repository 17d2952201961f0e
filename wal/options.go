package wal

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/plinth-storage/plinth/seg"
)

// LSN is a log sequence number: the position of a transaction in the
// journal. The first transaction has LSN 1.
type LSN = uint64

// Mirror is one copy of the journal: a ring of segments on one drive.
type Mirror struct {
	// Name says which drive this is, for events and errors.
	Name string
	// Node and Drive are the identities written into segment headers.
	Node, Drive uuid.UUID
	// Ring is the segments the journal cycles through, all on one
	// device. Every mirror has the same number of them.
	Ring []seg.Location
	// Joining marks a mirror whose ring holds nothing to trust: a new
	// drive, or one that was out while the others went on. Open reads
	// nothing from it; it clears its ring and writes it from the first
	// segment the journal starts, so it holds every transaction after
	// those Open replayed. Until a checkpoint covers those, it lacks
	// them: the layer above says when it may be trusted (a later Open
	// without Joining).
	Joining bool
}

// Options configures a journal.
type Options struct {
	// Mirrors are the copies: three, or all drives when the node has
	// fewer.
	Mirrors []Mirror
	// Events receives what happened to the journal (a mirror failed, the
	// journal went read-only, a bad copy was read around). It is called
	// from the journal's goroutines and must not block for long.
	Events func(Event)
	// FullWait is how long a commit waits for a checkpoint to release
	// space when the journal is full, before failing with ErrFull.
	// Default 30s.
	FullWait time.Duration
	// MaxBatch bounds the bytes of one group-commit write (default and
	// maximum seg.MaxWrite).
	MaxBatch int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

func (o *Options) validate() error {
	if len(o.Mirrors) == 0 {
		return errors.New("journal: no mirrors")
	}
	r := len(o.Mirrors[0].Ring)
	if r < 2 {
		return fmt.Errorf("journal: a ring of %d segments; at least 2 are needed", r)
	}
	for _, m := range o.Mirrors {
		if len(m.Ring) != r {
			return fmt.Errorf("journal: mirror %s has %d ring segments, mirror %s has %d", m.Name, len(m.Ring), o.Mirrors[0].Name, r)
		}
	}
	if o.FullWait == 0 {
		o.FullWait = 30 * time.Second
	}
	if o.MaxBatch <= 0 || o.MaxBatch > seg.MaxWrite {
		o.MaxBatch = seg.MaxWrite
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// required is how many healthy mirrors the journal needs to accept
// commits: two, or one on a node with a single mirror.
func (o *Options) required() int { return min(2, len(o.Mirrors)) }

// Errors; test with errors.Is.
var (
	// ErrReadOnly: too few healthy mirrors remain; the journal accepts no
	// commits. The event that made it so says why.
	ErrReadOnly = errors.New("journal is read-only")
	// ErrFull: the journal is full and no checkpoint released space in
	// time.
	ErrFull = errors.New("journal full")
	// ErrClosed: the journal was closed.
	ErrClosed = errors.New("journal closed")
	// ErrTooLarge: a transaction larger than a journal record can be.
	ErrTooLarge = errors.New("transaction too large")
)

// Event is something an operator should hear about.
type Event struct {
	Time   time.Time
	Kind   EventKind
	Mirror string // the mirror concerned, "" for the journal as a whole
	Detail string
}

// EventKind classifies events.
type EventKind uint8

const (
	// EventMirrorFailed: a mirror's drive failed; the journal goes on
	// with the others.
	EventMirrorFailed EventKind = iota + 1
	// EventReadOnly: too few healthy mirrors; commits are refused.
	EventReadOnly
	// EventBadCopy: a record was damaged or missing on one mirror and was
	// read from another.
	EventBadCopy
	// EventMirrorBehind: a mirror lacks the newest segment (it failed
	// earlier) and is left out until it is rebuilt.
	EventMirrorBehind
	// EventFull: the journal is full and commits wait for a checkpoint.
	EventFull
	// EventMirrorJoined: a joining mirror's ring was cleared and it is
	// written from now on.
	EventMirrorJoined
)

func (k EventKind) String() string {
	switch k {
	case EventMirrorFailed:
		return "mirror-failed"
	case EventReadOnly:
		return "read-only"
	case EventBadCopy:
		return "bad-copy"
	case EventMirrorBehind:
		return "mirror-behind"
	case EventFull:
		return "journal-full"
	case EventMirrorJoined:
		return "mirror-joined"
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

func (e Event) String() string {
	if e.Mirror == "" {
		return fmt.Sprintf("%s %s: %s", e.Time.Format(time.RFC3339), e.Kind, e.Detail)
	}
	return fmt.Sprintf("%s %s %s: %s", e.Time.Format(time.RFC3339), e.Kind, e.Mirror, e.Detail)
}
