package torture

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Shrink looks for a shorter list of the seed's operations that still
// fails the same way (delta debugging: drop halves, then quarters, ...,
// then single operations, keeping every drop after which the run still
// fails). It stops at the budget and returns the kept operations' indices
// and their run. The node's goroutines make runs not exactly repeatable,
// so a drop is kept only when its run fails; a flaky failure shrinks less.
func Shrink(cfg Config, failed Result, budget time.Duration, progress func(string)) (keep []int, res Result, ok bool) {
	cfg.defaults()
	deadline := time.Now().Add(budget)
	keep = cfg.Keep
	if keep == nil {
		for i := range cfg.Ops {
			keep = append(keep, i)
		}
	}
	if failed.FailedAt >= 0 && failed.FailedAt+1 < len(keep) {
		keep = keep[:failed.FailedAt+1] // what came after the failure did not cause it
	}
	kind := failureKind(failed)
	try := func(k []int) (Result, bool) {
		c := cfg
		c.Keep, c.Trace = k, nil
		r := Run(c)
		return r, r.Failed() && failureKind(r) == kind
	}
	// The node's own goroutines make the IO an armed cut strikes vary
	// between runs, so a failure may need a few reruns to show again.
	var best Result
	ok = false
	for attempt := 0; attempt < reproduceAttempts && !ok; attempt++ {
		best, ok = try(keep)
	}
	if !ok {
		return cfg.Keep, failed, false // not reproducible: nothing to shrink
	}
	for chunk := max(len(keep)/2, 1); chunk >= 1 && time.Now().Before(deadline); {
		removed := false
		for start := 0; start < len(keep) && time.Now().Before(deadline); {
			cand := append(append([]int(nil), keep[:start]...), keep[min(start+chunk, len(keep)):]...)
			if r, ok := try(cand); ok {
				keep, best, removed = cand, r, true
				if r.FailedAt >= 0 && r.FailedAt+1 < len(keep) {
					keep = keep[:r.FailedAt+1]
				}
				if progress != nil {
					progress(fmt.Sprintf("shrink: %d operations still fail", len(keep)))
				}
				continue
			}
			start += chunk
		}
		if !removed {
			if chunk == 1 {
				break
			}
			chunk /= 2
		}
	}
	return keep, best, true
}

// failureKind names what a run's first failure was, for Shrink to keep.
// reproduceAttempts is how many runs Shrink gives a failure to show
// again before it calls it not reproducible.
const reproduceAttempts = 5

func failureKind(r Result) string {
	if len(r.Failures) == 0 {
		return ""
	}
	f := r.Failures[0]
	for _, k := range []string{"panic", "LOST", "WRONG READ", "checker", "start after", "clean stop"} {
		if strings.HasPrefix(f, k) {
			return k
		}
	}
	if i := strings.IndexAny(f, ":"); i > 0 {
		return f[:i]
	}
	return f
}

// FormatKeep writes indices as ranges: "0-3,7,9-12".
func FormatKeep(keep []int) string {
	s := append([]int(nil), keep...)
	sort.Ints(s)
	var parts []string
	for i := 0; i < len(s); {
		j := i
		for j+1 < len(s) && s[j+1] == s[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(s[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", s[i], s[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// ParseKeep reads FormatKeep's form.
func ParseKeep(s string) ([]int, error) {
	var keep []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("keep %q: %q is not an operation index", s, part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("keep %q: %q is not a range of operation indices", s, part)
			}
		}
		for i := a; i <= b; i++ {
			keep = append(keep, i)
		}
	}
	return keep, nil
}

// Reproduction is what a failing run prints: the command that runs the
// same operations again, and those operations.
func Reproduction(cfg Config, keep []int) string {
	cfg.defaults()
	ops, victims := Generate(cfg)
	var b strings.Builder
	fmt.Fprintf(&b, "reproduce: plinth torture --seed %d --ops %d --faults %s", cfg.Seed, cfg.Ops, cfg.Faults)
	if cfg.Exceed {
		b.WriteString(" --exceed")
	}
	if keep != nil {
		fmt.Fprintf(&b, " --keep %s", FormatKeep(keep))
	}
	fmt.Fprintf(&b, " -v\nvictim drives %v; operations:\n", victims)
	if keep == nil {
		for i := range ops {
			keep = append(keep, i)
		}
	}
	for _, i := range keep {
		if i < len(ops) {
			fmt.Fprintf(&b, "  %4d %v\n", i, ops[i])
		}
	}
	return b.String()
}
