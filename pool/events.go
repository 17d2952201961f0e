package pool

import (
	"fmt"
	"sync/atomic"
	"time"
)

// Event kinds.
const (
	EventDriveFailed     = "drive-failed"      // a drive's IO failed; it gets no new members
	EventIOError         = "io-error"          // a write, flush or zone operation failed
	EventDegradedRead    = "degraded-read"     // a read rebuilt data from parity
	EventUnrecoverable   = "unrecoverable"     // a read found more damage than parity covers
	EventRepairQueued    = "repair-queued"     // a damaged stripe was queued for repair
	EventRepaired        = "repaired"          // a damaged stripe's live records were rewritten
	EventWriteProtect    = "write-protect"     // metadata space ran out: writes refused
	EventWriteProtectOff = "write-protect-off" // metadata space came back
	EventCleanerStart    = "cleaner-start"
	EventCleanerStop     = "cleaner-stop"
	EventSetCleaned      = "set-cleaned"  // a set's live records were moved
	EventSetReleased     = "set-released" // a set with nothing live was freed
	EventError           = "error"        // anything else that went wrong in the background
)

// Event is something an operator should hear about.
type Event struct {
	Time     time.Time
	Pool     string
	Kind     string
	Set      uint64 // 0: none
	Stripe   int64
	Drive    uint32 // drive position, when HasDrive
	HasDrive bool
	Detail   string
}

func (e Event) String() string {
	s := fmt.Sprintf("%s pool %s %s", e.Time.Format(time.RFC3339), e.Pool, e.Kind)
	if e.Set != 0 {
		s += fmt.Sprintf(" set %d", e.Set)
		if e.Kind == EventDegradedRead || e.Kind == EventUnrecoverable || e.Kind == EventRepairQueued || e.Kind == EventRepaired {
			s += fmt.Sprintf(" stripe %d", e.Stripe)
		}
	}
	if e.HasDrive {
		s += fmt.Sprintf(" drive %d", e.Drive)
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (p *Pool) event(e Event) {
	if e.Time.IsZero() {
		e.Time = p.opts.Now()
	}
	e.Pool = p.name
	if p.opts.Events != nil {
		p.opts.Events(e)
	}
}

// Stats counts what the pool did since it was opened.
type Stats struct {
	Puts, Deletes      int64
	BytesWritten       int64 // payload bytes of writes
	BytesRead          int64
	Commits            int64 // metadata commits (each takes a group of writes)
	DegradedReads      int64
	Repaired           int64 // stripes repaired
	SetsCleaned        int64
	BytesRelocated     int64 // record bytes the cleaner and repairs moved
	SetsReleased       int64
	WriteProtected     bool
	WriteProtectReason string
	Cleaner            CleanerStatus
}

type statsCounters struct {
	puts, deletes, bytesWritten, bytesRead, commits, degradedReads atomic.Int64
	repaired, setsCleaned, bytesRelocated, setsReleased            atomic.Int64
}

// Stats returns the pool's counters.
func (p *Pool) Stats() Stats {
	s := Stats{
		Puts: p.stats.puts.Load(), Deletes: p.stats.deletes.Load(),
		BytesWritten: p.stats.bytesWritten.Load(), BytesRead: p.stats.bytesRead.Load(),
		Commits: p.stats.commits.Load(), DegradedReads: p.stats.degradedReads.Load(),
		Repaired: p.stats.repaired.Load(), SetsCleaned: p.stats.setsCleaned.Load(),
		BytesRelocated: p.stats.bytesRelocated.Load(), SetsReleased: p.stats.setsReleased.Load(),
		Cleaner: p.cleanerStatus(),
	}
	s.WriteProtected, s.WriteProtectReason = p.protect.get()
	return s
}
