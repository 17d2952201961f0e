package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/appliance/events"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/pool"
)

// ScrubTree holds each pool's scrub state, so a pass interrupted by a
// restart resumes where it stopped and the schedule survives restarts:
// key the pool's name, value (version 1, 41 bytes, big endian): version
// (1), start of the pass under way (8, Unix ns; 0: none), the last set the
// pass finished (8), end of the last complete pass (8, Unix ns), and the
// damaged and unrecoverable stripes that pass found (8 each).
const ScrubTree = "node/scrub"

// scrubState is one pool's record.
type scrubState struct {
	started, completed     time.Time
	cursor                 alloc.SetID
	damaged, unrecoverable int64
}

func (st scrubState) encode() []byte {
	b := []byte{1}
	b = binary.BigEndian.AppendUint64(b, unixNano(st.started))
	b = binary.BigEndian.AppendUint64(b, uint64(st.cursor))
	b = binary.BigEndian.AppendUint64(b, unixNano(st.completed))
	b = binary.BigEndian.AppendUint64(b, uint64(st.damaged))
	return binary.BigEndian.AppendUint64(b, uint64(st.unrecoverable))
}

func decodeScrubState(b []byte) (scrubState, error) {
	if len(b) != 41 || b[0] != 1 {
		return scrubState{}, fmt.Errorf("%w: scrub state of %d bytes", store.ErrCorrupt, len(b))
	}
	at := func(i int) uint64 { return binary.BigEndian.Uint64(b[1+8*i:]) }
	return scrubState{started: fromUnixNano(at(0)), cursor: alloc.SetID(at(1)), completed: fromUnixNano(at(2)),
		damaged: int64(at(3)), unrecoverable: int64(at(4))}, nil
}

func unixNano(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixNano())
}

func fromUnixNano(n uint64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(n)).UTC()
}

// ScrubStatus is where a pool's scrub stands (for /v1/status).
type ScrubStatus struct {
	Pool          string    `json:"pool"`
	Running       bool      `json:"running"`
	PassStarted   time.Time `json:"pass_started,omitzero"`
	SetsDone      int64     `json:"sets_done"`
	SetsTotal     int64     `json:"sets_total"`
	LastCompleted time.Time `json:"last_completed,omitzero"`
	Damaged       int64     `json:"damaged_last_pass"`
	Unrecoverable int64     `json:"unrecoverable_last_pass"`
	NextDue       time.Time `json:"next_due,omitzero"`
	LastError     string    `json:"last_error,omitempty"`
}

// scrubber runs each pool's scrub passes in the background, one pool at a
// time, rate-limited by the pool (its cleaner's rate), on a schedule: a
// pass starts when the last one completed more than interval ago, or when
// asked (Kick); an interrupted pass resumes after the last set it
// finished.
type scrubber struct {
	s        *Server
	interval time.Duration
	kick     kicker

	mu     sync.Mutex
	status map[string]*ScrubStatus
	ctl    scrubControl // an operator's stop (console.go)
}

func newScrubber(s *Server, interval time.Duration) *scrubber {
	sc := &scrubber{s: s, interval: interval, kick: newKicker(), status: map[string]*ScrubStatus{}}
	for _, p := range s.pools {
		sc.status[p.Name()] = &ScrubStatus{Pool: p.Name()}
	}
	return sc
}

// Kick asks for a pass of every pool now.
func (sc *scrubber) Kick() { sc.kick.Kick() }

// Status returns every pool's scrub status.
func (sc *scrubber) Status() []ScrubStatus { return statusOf(&sc.mu, sc.s.pools, sc.status) }

func (sc *scrubber) run(stop <-chan struct{}, wg *sync.WaitGroup) {
	eachPool(stop, wg, sc.s.pools, sc.kick, false, func(ctx context.Context) bool {
		if err := sc.s.meta.CreateTree(ctx, ScrubTree, ""); err != nil && !errors.Is(err, store.ErrExists) {
			sc.s.log.Error("scrub: cannot keep its state; scrubbing is off", "err", err)
			return false
		}
		return true
	}, sc.pass)
}

// pass runs (or resumes) a pool's pass when one is under way or due.
func (sc *scrubber) pass(ctx context.Context, p *pool.Pool, forced bool) {
	ctx, done, ok := sc.ctl.begin(ctx)
	if !ok {
		return
	}
	defer done()
	s := sc.s
	name := p.Name()
	st, err := sc.load(name)
	if err != nil {
		sc.fail(name, err)
		return
	}
	now := time.Now()
	due := st.completed.Add(sc.interval)
	sc.mu.Lock()
	status := sc.status[name]
	status.LastCompleted, status.Damaged, status.Unrecoverable, status.NextDue = st.completed, st.damaged, st.unrecoverable, due
	sc.mu.Unlock()
	if st.started.IsZero() {
		if !forced && now.Before(due) {
			return
		}
		st.started, st.cursor = now.UTC(), 0
		if err := sc.save(ctx, name, st); err != nil {
			sc.fail(name, err)
			return
		}
		s.emit(events.Event{Severity: events.Info, Kind: "scrub-started", Source: "pool", Pool: name, Detail: "a scrub pass started: every written stripe, data and parity, is read and checked"})
	} else {
		s.emit(events.Event{Severity: events.Info, Kind: "scrub-resumed", Source: "pool", Pool: name, Detail: fmt.Sprintf("resuming the pass started %s after set %d", st.started.Format(time.RFC3339), st.cursor)})
	}
	sc.mu.Lock()
	status.Running, status.PassStarted, status.LastError = true, st.started, ""
	sc.mu.Unlock()
	res, err := p.ScrubFrom(ctx, st.cursor, func(pr pool.ScrubProgress) error {
		sc.mu.Lock()
		status.SetsDone, status.SetsTotal = pr.SetsDone, pr.SetsTotal
		sc.mu.Unlock()
		st.cursor = pr.LastSet
		st.damaged, st.unrecoverable = pr.Result.Damaged, pr.Result.Unrecoverable
		return sc.save(ctx, name, st)
	})
	sc.mu.Lock()
	status.Running = false
	sc.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			sc.fail(name, err)
		}
		return // resumed at the next start, or the next round
	}
	st.completed, st.started, st.cursor = time.Now().UTC(), time.Time{}, 0
	st.damaged, st.unrecoverable = res.Damaged, res.Unrecoverable
	if err := sc.save(ctx, name, st); err != nil {
		sc.fail(name, err)
		return
	}
	sev := events.Info
	if res.Damaged > 0 {
		sev = events.Warning
	}
	if res.Unrecoverable > 0 {
		sev = events.Critical
	}
	// The event first: whoever sees the pass completed in the status
	// finds its event (CI once saw the status before the event).
	s.emit(events.Event{Severity: sev, Kind: "scrub-finished", Source: "pool", Pool: name,
		Detail: fmt.Sprintf("%d sets, %d stripes checked: %d damaged (queued for repair), %d unrecoverable, %d damaged but dead", res.Sets, res.Stripes, res.Damaged, res.Unrecoverable, res.DeadDamaged)})
	sc.mu.Lock()
	status.LastCompleted, status.Damaged, status.Unrecoverable = st.completed, st.damaged, st.unrecoverable
	status.NextDue, status.PassStarted = st.completed.Add(sc.interval), time.Time{}
	sc.mu.Unlock()
}

func (sc *scrubber) fail(name string, err error) {
	sc.s.log.Warn("scrub failed", "pool", name, "err", err)
	sc.s.emit(events.Event{Severity: events.Warning, Kind: "scrub-failed", Source: "pool", Pool: name, Detail: err.Error()})
	sc.mu.Lock()
	sc.status[name].LastError = err.Error()
	sc.mu.Unlock()
}

func (sc *scrubber) load(name string) (scrubState, error) {
	v, ok, err := sc.s.meta.Get(ScrubTree, []byte(name))
	if err != nil || !ok {
		return scrubState{}, err
	}
	return decodeScrubState(v)
}

func (sc *scrubber) save(ctx context.Context, name string, st scrubState) error {
	b := store.NewBatch()
	b.Put(ScrubTree, []byte(name), st.encode())
	_, err := sc.s.meta.Commit(ctx, b)
	return err
}
