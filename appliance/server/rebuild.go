package server

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/pool"
)

// RebuildStatus is where a pool's rebuild stands (for /v1/status).
type RebuildStatus struct {
	Pool      string        `json:"pool"`
	Running   bool          `json:"running"`
	Started   time.Time     `json:"started,omitzero"`
	SetsDone  int           `json:"sets_done"`
	SetsTotal int           `json:"sets_total"`
	Members   int           `json:"members_rebuilt"`
	Bytes     int64         `json:"bytes"`
	Failed    int           `json:"members_failed"`
	ETA       string        `json:"eta,omitempty"`
	eta       time.Duration // ETA as a duration, for /metrics
	LastDone  time.Time     `json:"last_done,omitzero"`
	LastError string        `json:"last_error,omitempty"`
	// Rebalancing: members are being moved onto emptier drives (a new
	// or replaced drive), Moved of them so far in the last rebalance.
	Rebalancing bool    `json:"rebalancing"`
	Moved       int     `json:"rebalance_moved"`
	Spread      float64 `json:"drive_spread"`
}

// rebalanceAt: a pool whose healthy drives' use differs by more than this
// fraction of a drive is rebalanced (down to pool's default of 0.1).
const rebalanceAt = 0.25

// rebuilder rebuilds, pool by pool, the members on drives that are faulty
// or out: when told (a drive failed or was marked out) and every minute,
// so that a rebuild a failure or a restart interrupted is taken up again.
type rebuilder struct {
	s    *Server
	rate int64
	kick kicker

	mu       sync.Mutex
	status   map[string]*RebuildStatus
	failedAt map[string]time.Time // the last attempt that left members not rebuilt
}

// retryFailed is how long a pool whose rebuild could not finish waits
// before the next try, unless something changes (a Kick).
const retryFailed = 10 * time.Minute

func newRebuilder(s *Server, rate int64) *rebuilder {
	rb := &rebuilder{s: s, rate: rate, kick: newKicker(), status: map[string]*RebuildStatus{}, failedAt: map[string]time.Time{}}
	for _, p := range s.pools {
		rb.status[p.Name()] = &RebuildStatus{Pool: p.Name()}
	}
	return rb
}

// Kick asks for a rebuild now.
func (rb *rebuilder) Kick() { rb.kick.Kick() }

// Status returns every pool's rebuild status.
func (rb *rebuilder) Status() []RebuildStatus { return statusOf(&rb.mu, rb.s.pools, rb.status) }

func (rb *rebuilder) run(stop <-chan struct{}, wg *sync.WaitGroup) {
	eachPool(stop, wg, rb.s.pools, rb.kick, true, nil, func(ctx context.Context, p *pool.Pool, kicked bool) {
		rb.mu.Lock()
		waiting := time.Since(rb.failedAt[p.Name()]) < retryFailed
		rb.mu.Unlock()
		switch {
		case needsRebuild(ctx, p):
			if kicked || !waiting {
				rb.rebuild(ctx, p)
			}
		case p.DriveSpread() > rebalanceAt:
			rb.rebalance(ctx, p)
		}
	})
}

// rebuildParallel is how many sets a pool of drives rebuilds at once:
// declustered, the more drives, the more sets. Each set rebuilt keeps its
// members' drives (width of them) busy, reading or writing; each drive in
// about four sets at once keeps it busy while each set waits in turn on
// its own reads, writes and commits (two and eight were both worse:
// docs/design.md, issue 7).
func rebuildParallel(drives, width int) int {
	return max(4, 4*drives/max(width, 1))
}

// needsRebuild: a drive of the pool is faulty or out and holds members.
func needsRebuild(ctx context.Context, p *pool.Pool) bool {
	for _, d := range p.Allocator().Drives() {
		if d.Health != alloc.Faulty && d.Health != alloc.Out {
			continue
		}
		if ids, err := p.Allocator().SetsOn(ctx, d.Position); err == nil && len(ids) > 0 {
			return true
		}
	}
	return false
}

func (rb *rebuilder) rebuild(ctx context.Context, p *pool.Pool) {
	st := rb.status[p.Name()]
	rb.mu.Lock()
	*st = RebuildStatus{Pool: p.Name(), Running: true, Started: time.Now().UTC(), LastDone: st.LastDone}
	rb.mu.Unlock()
	parallel := rebuildParallel(len(p.Allocator().Drives()), p.Layout().Members())
	res, err := p.Rebuild(ctx, pool.RebuildOptions{Rate: rb.rate, Parallel: parallel, Progress: func(pr pool.RebuildProgress) {
		rb.mu.Lock()
		st.SetsDone, st.SetsTotal, st.Members, st.Bytes, st.Failed = pr.SetsDone, pr.SetsTotal, pr.MembersDone, pr.Bytes, pr.Failed
		if pr.ETA > 0 {
			st.eta = pr.ETA.Round(time.Second)
			st.ETA = st.eta.String()
		}
		rb.mu.Unlock()
	}})
	rb.mu.Lock()
	defer rb.mu.Unlock()
	st.Running, st.ETA, st.eta = false, "", 0
	st.SetsDone, st.SetsTotal, st.Members, st.Bytes, st.Failed = res.SetsDone, res.SetsTotal, res.MembersDone, res.Bytes, res.Failed
	switch {
	case err != nil && ctx.Err() == nil:
		st.LastError = err.Error()
		rb.failedAt[p.Name()] = time.Now()
		rb.s.log.Warn("rebuild failed", "pool", p.Name(), "err", err)
	case len(res.Errors) > 0:
		st.LastError = fmt.Sprintf("%d members could not be rebuilt (next try in %v, or when a drive changes state), first: %v", len(res.Errors), retryFailed, res.Errors[0])
		rb.failedAt[p.Name()] = time.Now()
	default:
		st.LastDone = time.Now().UTC()
	}
}

// rebalance evens out a pool's drives (after a drive was added or
// replaced).
func (rb *rebuilder) rebalance(ctx context.Context, p *pool.Pool) {
	st := rb.status[p.Name()]
	rb.mu.Lock()
	st.Rebalancing, st.Spread = true, p.DriveSpread()
	rb.mu.Unlock()
	res, err := p.Rebalance(ctx, pool.RebalanceOptions{Rate: rb.rate / 2})
	rb.mu.Lock()
	defer rb.mu.Unlock()
	st.Rebalancing, st.Moved, st.Spread = false, res.Moves, res.Spread
	if err != nil && ctx.Err() == nil {
		st.LastError = "rebalance: " + err.Error()
		rb.s.log.Warn("rebalance failed", "pool", p.Name(), "err", err)
	}
}
