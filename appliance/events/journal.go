package events

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// File names inside the journal's directory.
const (
	FileName    = "events.jsonl"
	OldFileName = FileName + ".1"
)

// Defaults of Options.
const (
	DefaultMaxBytes     = 16 << 20
	DefaultSyncInterval = 200 * time.Millisecond
	DefaultBuffer       = 4096
)

// ErrClosed is returned by a Journal after Close.
var ErrClosed = errors.New("events journal closed")

// Options tune a Journal. The zero value is the defaults.
type Options struct {
	// MaxBytes is the size past which events.jsonl is rotated
	// (DefaultMaxBytes when 0).
	MaxBytes int64
	// SyncInterval bounds how long a written event waits for fdatasync
	// (DefaultSyncInterval when 0).
	SyncInterval time.Duration
	// Buffer is how many events Emit can queue before it drops them
	// (DefaultBuffer when 0).
	Buffer int
	// Now stamps events emitted without a time (time.Now when nil).
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.SyncInterval <= 0 {
		o.SyncInterval = DefaultSyncInterval
	}
	if o.Buffer <= 0 {
		o.Buffer = DefaultBuffer
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Stats counts what a Journal did since Open.
type Stats struct {
	LastSeq       uint64 // the newest event's sequence number
	Emitted       uint64 // events accepted by Emit
	Written       uint64 // lines written to the file
	Dropped       uint64 // events Emit dropped: queue full, or journal closed
	FollowDropped uint64 // events slow followers missed
	BadLines      uint64 // lines readers skipped because they did not parse
	RepairedBytes int64  // torn or garbage tail Open cut off
	Syncs         uint64
	Rotations     uint64
	LostLines     uint64 // lines a failed write lost
	LastError     string // the last write, sync or rotation error
}

// Journal is an open events journal. Its methods are safe for concurrent use.
type Journal struct {
	dir  string
	opts Options
	dirf *os.File // the directory: locked against a second opener, synced after renames

	// mu guards closed and q's lifetime: senders hold it for reading.
	mu     sync.RWMutex
	closed bool
	q      chan item
	done   chan struct{} // closed when the writer has exited

	w writer // owned by the writer goroutine

	// fileMu is held for writing while files are renamed, for reading
	// while a reader opens them; written is how much of events.jsonl is
	// whole lines.
	fileMu  sync.RWMutex
	written atomic.Int64

	ringMu sync.RWMutex
	ring   ring

	followMu   sync.Mutex
	followers  map[*follower]struct{}
	followDone bool

	lastSeq                        atomic.Uint64
	emitted, dropped, pendingDrop  atomic.Uint64
	followDropped, badLines        atomic.Uint64
	linesWritten, syncs, rotations atomic.Uint64
	lost                           atomic.Uint64
	repaired                       int64
	errMu                          sync.Mutex
	lastErr                        string
	closeErr                       error
}

type item struct {
	ev   Event
	sync chan error // a Sync request when not nil
}

// Open opens (creating it if needed) the journal in dir, repairs a torn
// tail, and starts its writer. Only one Journal may have dir open.
func Open(dir string, o Options) (*Journal, error) {
	o = o.withDefaults()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("events journal: %w", err)
	}
	dirf, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("events journal: %w", err)
	}
	if err := unix.Flock(int(dirf.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		dirf.Close()
		return nil, fmt.Errorf("events journal: lock %s: %w (another process has it open?)", dir, err)
	}
	j := &Journal{
		dir:       dir,
		opts:      o,
		dirf:      dirf,
		q:         make(chan item, o.Buffer),
		done:      make(chan struct{}),
		followers: make(map[*follower]struct{}),
	}
	j.ring.init(ringSize)
	rep, err := j.recover()
	if err != nil {
		dirf.Close()
		return nil, err
	}
	go j.run()
	if rep != "" {
		j.Emit(Event{Severity: Warning, Kind: KindRepaired, Source: "node", Detail: rep})
	}
	return j, nil
}

func (j *Journal) path(name string) string { return filepath.Join(j.dir, name) }

// Dir returns the journal's directory.
func (j *Journal) Dir() string { return j.dir }

// Emit records e. It fills e.Seq (always) and e.Time (when zero), and
// never waits for the disk: when the queue is full, or the journal is
// closed, the event is dropped and counted in Stats.Dropped. An empty
// severity is info; an unknown one is stored as error with the unknown name
// in the detail.
func (j *Journal) Emit(e Event) {
	if e.Time.IsZero() {
		e.Time = j.opts.Now()
	}
	j.mu.RLock()
	defer j.mu.RUnlock()
	if j.closed {
		j.dropped.Add(1)
		return
	}
	select {
	case j.q <- item{ev: e}:
		j.emitted.Add(1)
	default:
		j.dropped.Add(1)
		j.pendingDrop.Add(1)
	}
}

// Sync returns once every event emitted before it was called is durable (or
// was lost to a write error, which it returns).
func (j *Journal) Sync() error {
	done := make(chan error, 1)
	j.mu.RLock()
	if j.closed {
		j.mu.RUnlock()
		return ErrClosed
	}
	j.q <- item{sync: done}
	j.mu.RUnlock()
	return <-done
}

// Close writes and syncs every queued event, ends all followers and
// releases the directory. Emit after Close drops.
func (j *Journal) Close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return ErrClosed
	}
	j.closed = true
	close(j.q)
	j.mu.Unlock()
	<-j.done
	if err := j.dirf.Close(); err != nil && j.closeErr == nil {
		j.closeErr = fmt.Errorf("events journal: %w", err)
	}
	return j.closeErr
}

// Stats returns the journal's counters.
func (j *Journal) Stats() Stats {
	j.errMu.Lock()
	last := j.lastErr
	j.errMu.Unlock()
	return Stats{
		LastSeq:       j.lastSeq.Load(),
		Emitted:       j.emitted.Load(),
		Written:       j.linesWritten.Load(),
		Dropped:       j.dropped.Load(),
		FollowDropped: j.followDropped.Load(),
		BadLines:      j.badLines.Load(),
		RepairedBytes: j.repaired,
		Syncs:         j.syncs.Load(),
		Rotations:     j.rotations.Load(),
		LostLines:     j.lost.Load(),
		LastError:     last,
	}
}

func (j *Journal) setErr(err error) {
	j.errMu.Lock()
	j.lastErr = err.Error()
	j.errMu.Unlock()
}
