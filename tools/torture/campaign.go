package torture

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// CampaignOptions are a run of many seeds.
type CampaignOptions struct {
	First, Seeds uint64
	// Config is every run's configuration; Seed is set per run.
	Config Config
	// Parallel is how many seeds run at once (at least 1). Each holds
	// its node's drives in memory: about 450 MiB.
	Parallel int
	// Shrink is the time each failing seed may spend shortening its
	// reproduction (0: no shrinking).
	Shrink time.Duration
	// Progress, when set, receives a line every ProgressEvery.
	Progress      io.Writer
	ProgressEvery time.Duration
	// Failures receives each failing seed's failures and reproduction.
	Failures io.Writer
}

// Campaign runs the seeds and adds up their figures. It stops starting
// new seeds when ctx is done.
func Campaign(ctx context.Context, o CampaignOptions) Totals {
	o.Parallel = max(o.Parallel, 1)
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 5 * time.Second
	}
	if o.Failures == nil {
		o.Failures = io.Discard
	}
	var (
		mu    sync.Mutex
		tot   Totals
		seeds = make(chan uint64)
		wg    sync.WaitGroup
		start = time.Now()
	)
	tot.Faults = map[Fault]int{}
	progress := func(final bool) {
		if o.Progress == nil {
			return
		}
		mu.Lock()
		done, failed, ops := uint64(tot.Seeds), len(tot.FailedSeeds), tot.Ops
		mu.Unlock()
		el := time.Since(start)
		line := fmt.Sprintf("torture: %d/%d seeds, %d failed, %d operations, %v", done, o.Seeds, failed, ops, el.Round(time.Second))
		if done > 0 && !final {
			eta := time.Duration(float64(el) / float64(done) * float64(o.Seeds-done))
			line += fmt.Sprintf(", about %v left", eta.Round(time.Second))
		}
		fmt.Fprintln(o.Progress, line)
	}
	for range o.Parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seed := range seeds {
				cfg := o.Config
				cfg.Seed, cfg.Trace = seed, nil
				res := Run(cfg)
				if res.Failed() {
					report := failureReport(cfg, res, o.Shrink)
					mu.Lock()
					fmt.Fprint(o.Failures, report)
					mu.Unlock()
				}
				mu.Lock()
				tot.Add(res)
				mu.Unlock()
			}
		}()
	}
	tick := time.NewTicker(o.ProgressEvery)
	defer tick.Stop()
feed:
	for s := o.First; s < o.First+o.Seeds; s++ {
		for sent := false; !sent; {
			select {
			case <-ctx.Done():
				break feed
			case <-tick.C:
				progress(false)
			case seeds <- s:
				sent = true
			}
		}
	}
	close(seeds)
	wg.Wait()
	progress(true)
	return tot
}

// failureReport is what a failing seed prints: its failures and, shrunk
// when there is time, the reproduction.
func failureReport(cfg Config, res Result, shrink time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "FAILED: seed %d, after operation %d of the run:\n", res.Seed, res.FailedAt)
	for _, f := range res.Failures {
		fmt.Fprintf(&b, "  %s\n", f)
	}
	keep := cfg.Keep
	if shrink > 0 {
		k, shrunk, ok := Shrink(cfg, res, shrink, nil)
		switch {
		case !ok:
			b.WriteString("it did not fail again on a rerun (the failure depends on timing): run the seed a few times\n")
		case len(k) < res.Ops:
			keep = k
			fmt.Fprintf(&b, "shortened to %d operations, it fails with:\n  %s\n", len(k), strings.Join(shrunk.Failures, "\n  "))
		}
	}
	b.WriteString(Reproduction(cfg, keep))
	return b.String()
}
