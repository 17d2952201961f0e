package console

import (
	"context"
	"fmt"

	"github.com/plinth-storage/plinth/pool"
)

// Background work: scrub start|stop|status, rebuild status, cleaner
// status.

// ScrubResult is the result of the scrub commands.
type ScrubResult struct {
	// Started and Stopped say what the command did.
	Started bool `json:"started,omitempty"`
	Stopped bool `json:"stopped,omitempty"`
	// WasRunning: a pass was under way when stop came (it resumes where
	// it stopped at the next scrub start).
	WasRunning bool `json:"was_running,omitempty"`
	// Halted: scrub stop halted scrubbing; no pass runs until scrub
	// start (or the node's next start).
	Halted bool `json:"halted"`
	// Pools is each pool's scrub status (as in GET /v1/status "scrub").
	Pools any `json:"pools"`
}

// RebuildResult is rebuild status's result.
type RebuildResult struct {
	// Pools is each pool's rebuild status (as in GET /v1/status
	// "rebuild").
	Pools any `json:"pools"`
}

func scrubResult(x *call, r ScrubResult) ScrubResult {
	r.Pools, r.Halted = x.node.ScrubStatus()
	return r
}

// CleanerState is one pool's cleaner.
type CleanerState struct {
	Pool           string `json:"pool"`
	Active         bool   `json:"active"`
	Set            uint64 `json:"set,omitempty"` // being cleaned
	Reason         string `json:"reason,omitempty"`
	LastError      string `json:"last_error,omitempty"`
	SetsCleaned    int64  `json:"sets_cleaned"`
	BytesRelocated int64  `json:"bytes_relocated"`
	SetsReleased   int64  `json:"sets_released"`
	ReclaimableB   int64  `json:"reclaimable_bytes"`
	// Candidates are the sets it would clean next, best first.
	Candidates []CleanerCandidate `json:"candidates,omitempty"`
}

// CleanerCandidate is a set the cleaner may clean.
type CleanerCandidate struct {
	Set         uint64  `json:"set"`
	Live        int64   `json:"live"`
	Capacity    int64   `json:"capacity"`
	Utilization float64 `json:"utilization"`
	AgeSeconds  int64   `json:"age_s"`
	Score       float64 `json:"score"`
}

func init() {
	register(&Command{Name: "scrub start", Summary: "start a scrub pass of every pool now (resuming a stopped one)", Mutating: true, Result: "ScrubResult",
		run: func(x *call) (any, error) {
			if x.node.ScrubStart == nil {
				return nil, errUnavailable("scrubber")
			}
			x.node.ScrubStart()
			return scrubResult(x, ScrubResult{Started: true}), nil
		}})
	register(&Command{Name: "scrub stop", Summary: "stop the scrub pass under way and scheduled passes until scrub start", Mutating: true, Result: "ScrubResult",
		run: func(x *call) (any, error) {
			if x.node.ScrubStop == nil {
				return nil, errUnavailable("scrubber")
			}
			was := x.node.ScrubStop()
			return scrubResult(x, ScrubResult{Stopped: true, WasRunning: was}), nil
		}})
	register(&Command{Name: "scrub status", Summary: "each pool's scrub: progress, last pass, damage found, next due", Result: "ScrubResult",
		run: func(x *call) (any, error) {
			if x.node.ScrubStatus == nil {
				return nil, errUnavailable("scrubber")
			}
			return scrubResult(x, ScrubResult{}), nil
		}})
	register(&Command{Name: "rebuild status", Summary: "each pool's rebuild and rebalance: progress, ETA, last error", Result: "RebuildResult",
		run: func(x *call) (any, error) {
			if x.node.RebuildStatus == nil {
				return nil, errUnavailable("rebuilder")
			}
			return RebuildResult{Pools: x.node.RebuildStatus()}, nil
		}})
	register(&Command{Name: "cleaner status", Summary: "each pool's cleaner: what it does, counters, next candidates", Result: "[]CleanerState",
		Args: []Arg{{Name: "candidates", Type: "int", Help: "how many next candidates to list (default 5)"}},
		run: func(x *call) (any, error) {
			n, err := x.nonNegative("candidates")
			if err != nil {
				return nil, err
			}
			if !x.has("candidates") {
				n = 5
			}
			out := []CleanerState{}
			for _, p := range x.node.Pools {
				out = append(out, cleanerState(p, int(min(n, 1000))))
			}
			return out, nil
		}})
}

// cleanerState is a pool's cleaner, with its next n candidates.
func cleanerState(p *pool.Pool, n int) CleanerState {
	st := p.Stats()
	c := CleanerState{Pool: p.Name(), Active: st.Cleaner.Active, Set: st.Cleaner.Set, Reason: st.Cleaner.Reason, LastError: st.Cleaner.LastError,
		SetsCleaned: st.SetsCleaned, BytesRelocated: st.BytesRelocated, SetsReleased: st.SetsReleased,
		ReclaimableB: p.FSStat().Data.ReclaimableBytes}
	if n > 0 {
		cands, err := p.Allocator().Cleanable(context.Background(), n)
		if err != nil {
			c.LastError = fmt.Sprintf("list candidates: %v", err)
		}
		for _, cd := range cands {
			c.Candidates = append(c.Candidates, CleanerCandidate{Set: uint64(cd.ID), Live: cd.Live, Capacity: cd.Capacity,
				Utilization: cd.Utilization, AgeSeconds: int64(cd.Age.Seconds()), Score: cd.Score})
		}
	}
	return c
}
