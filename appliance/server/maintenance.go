package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/plinth-storage/plinth/appliance/kv"
	"github.com/plinth-storage/plinth/pool"
)

// The synchronous forms of the node's background work. Serve runs the
// same work on its own schedule; these run it now, in the caller's
// goroutine, for the torture harness (which decides when everything
// happens) and for operators' tools.

// KV is the node's key-value indexes.
func (s *Server) KV() *kv.KV { return s.kv }

// ScrubNow runs a scrub pass of every pool (resuming one under way) and
// returns the pools' scrub status after it.
func (s *Server) ScrubNow(ctx context.Context) []ScrubStatus {
	for _, p := range s.pools {
		s.scrub.pass(ctx, p, true)
	}
	return s.scrub.Status()
}

// RebuildNow rebuilds every pool with members on a faulty or out drive
// and returns the pools' rebuild status after it.
func (s *Server) RebuildNow(ctx context.Context) []RebuildStatus {
	for _, p := range s.pools {
		if needsRebuild(ctx, p) {
			s.rebuild.rebuild(ctx, p)
		}
	}
	return s.rebuild.Status()
}

// CleanNow runs the cleaner of every pool on up to max sets each and
// returns how many sets were cleaned.
func (s *Server) CleanNow(ctx context.Context, max int) (int, error) {
	n := 0
	var errs []error
	for _, p := range s.pools {
		c, err := p.Clean(ctx, max)
		n += c
		if err != nil {
			errs = append(errs, fmt.Errorf("pool %s: clean: %w", p.Name(), err))
		}
	}
	return n, errors.Join(errs...)
}

// RepairNow works every pool's repair queue (stripes found damaged by
// reads and scrubs).
func (s *Server) RepairNow(ctx context.Context) error {
	var errs []error
	for _, p := range s.pools {
		if err := p.Repair(ctx); err != nil {
			errs = append(errs, fmt.Errorf("pool %s: repair: %w", p.Name(), err))
		}
	}
	return errors.Join(errs...)
}

// Checkpoint takes a checkpoint of the metadata store now.
func (s *Server) Checkpoint() error { return s.meta.Checkpoint() }

// Pools are the node's pools.
func (s *Server) Pools() []*pool.Pool { return s.pools }

// HealthNow looks at every drive's IO errors and stalls now, as the health
// monitor does every few seconds under Serve, marking faulty the drives
// past the thresholds.
func (s *Server) HealthNow() { s.health.look(time.Now()) }
