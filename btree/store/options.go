package store

import (
	"errors"
	"fmt"
	"time"

	"github.com/plinth-storage/plinth/btree"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/superblock"
	"github.com/plinth-storage/plinth/wal"
)

// Errors; test with errors.Is.
var (
	// ErrCorrupt: a checkpoint record, catalogue entry or journal
	// transaction that is not valid.
	ErrCorrupt = errors.New("corrupt metadata")
	// ErrUnsupported: a format version this binary does not read.
	ErrUnsupported = errors.New("unsupported metadata format")
	// ErrNoTree: the named tree does not exist.
	ErrNoTree = errors.New("no such tree")
	// ErrExists: CreateTree of a name that exists.
	ErrExists = errors.New("tree exists")
	// ErrNoCheckpoint: no mirror records a checkpoint (the store was
	// never created) or none of its copies can be read.
	ErrNoCheckpoint = errors.New("no readable metadata checkpoint")
	// ErrMetadataFull: no free metadata segment for a checkpoint.
	ErrMetadataFull = errors.New("metadata segments full")
	// ErrReadOnly: the store accepts no changes (too few healthy
	// mirrors, or a commit whose outcome is unknown); the event that made
	// it so says why. Reads go on.
	ErrReadOnly = errors.New("metadata store is read-only")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("metadata store closed")
	// ErrBadName: a tree name that is empty or too long, or an unknown
	// comparator.
	ErrBadName = errors.New("bad tree name or comparator")
)

// Mirror is one metadata drive: its device and its label, whose Meta
// ranges say where the journal ring and the metadata segments are.
type Mirror struct {
	Name  string // for events and errors; the device path when empty
	Dev   dev.Device
	Label *superblock.Log
}

// Options configures a store.
type Options struct {
	// Mirrors are the metadata drives (three on a node of three drives
	// or more). All have the same ranges and segment size.
	Mirrors []Mirror
	// CacheBytes bounds the node cache (default 64 MiB).
	CacheBytes int64
	// Comparators are the key orders trees may name, besides "" (bytewise).
	Comparators map[string]btree.Compare
	// CheckpointInterval: a checkpoint starts at the latest this long after
	// the previous one, when anything changed (default 30s; negative: never
	// by time).
	CheckpointInterval time.Duration
	// CheckpointBytes: a checkpoint starts once this many journal bytes
	// were committed since the last (default: a quarter of the journal
	// ring's capacity).
	CheckpointBytes int64
	// DirtyBytes bounds the memory of the changes not yet checkpointed
	// (btree.Tree.DirtyBytes over all trees): past it a checkpoint
	// starts, and past twice it commits wait for one (default CacheBytes/2,
	// at least 4 MiB). Resident memory is about CacheBytes + 2*DirtyBytes
	// plus a constant.
	DirtyBytes int64
	// CleanBelow: a full metadata segment with less than this fraction of
	// its capacity live is cleaned (default 0.25).
	CleanBelow float64
	// ManualResilver: a mirror found partial at Open (see Resilver) is
	// brought up to date only when Resilver is called. By default Open
	// starts it in the background.
	ManualResilver bool
	// Journal tunables (FullWait, MaxBatch); Mirrors, Events and Now are
	// set by the store.
	Journal wal.Options
	// Events receives what happened (checkpoints, cleaning, mirror
	// failures, bad copies read around). It must not block for long.
	Events func(Event)
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

func (o *Options) validate() error {
	if len(o.Mirrors) == 0 {
		return errors.New("metadata store: no mirrors")
	}
	if o.CacheBytes <= 0 {
		o.CacheBytes = 64 << 20
	}
	if o.DirtyBytes <= 0 {
		o.DirtyBytes = max(o.CacheBytes/2, 4<<20)
	}
	if o.CheckpointInterval == 0 {
		o.CheckpointInterval = 30 * time.Second
	}
	if o.CleanBelow <= 0 {
		o.CleanBelow = 0.25
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	l0 := o.Mirrors[0].Label.Label()
	for i := range o.Mirrors {
		m := &o.Mirrors[i]
		if m.Name == "" {
			m.Name = m.Dev.Path()
		}
		l := m.Label.Label()
		switch {
		case !l.Meta.Holds():
			return fmt.Errorf("metadata store: drive %s holds no metadata (its label has no metadata ranges)", m.Name)
		case l.Meta != l0.Meta || l.SegmentSize != l0.SegmentSize:
			return fmt.Errorf("metadata store: drive %s has metadata ranges %+v of %d-byte segments, drive %s has %+v of %d", m.Name, l.Meta, l.SegmentSize, o.Mirrors[0].Name, l0.Meta, l0.SegmentSize)
		case l.Node != l0.Node:
			return fmt.Errorf("metadata store: drive %s belongs to node %s, drive %s to node %s", m.Name, l.Node, o.Mirrors[0].Name, l0.Node)
		}
	}
	return nil
}

// Event is something an operator should hear about.
type Event struct {
	Time   time.Time
	Kind   string // "checkpoint", "clean", "mirror-failed", "bad-copy", "read-only", "journal"
	Mirror string
	Detail string
}

func (e Event) String() string {
	if e.Mirror != "" {
		return fmt.Sprintf("%s %s (%s): %s", e.Time.Format(time.RFC3339), e.Kind, e.Mirror, e.Detail)
	}
	return fmt.Sprintf("%s %s: %s", e.Time.Format(time.RFC3339), e.Kind, e.Detail)
}
