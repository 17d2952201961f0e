package fsck

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/pool"
)

// cross is phase 4: each pool opened read-only from the checked store,
// then the allocator's checks (every segment in one set at most, set
// membership, members on distinct drives, live-byte shares, counters),
// the index against the allocator (pool.Check without Deep: every extent
// and tombstone inside an existing set below its frontier, extents
// covering each object exactly, no record referenced twice, each set's
// live bytes equal to what the index references), every member segment's
// header naming its set, every zoned member's write pointer against its
// set's frontier (the kernel's view of the zones against Plinth's), and
// orphaned space: sealed sets with nothing
// live, which a start releases.
func (c *checker) cross(bar Bar) (string, error) {
	pools, err := c.node.OpenPoolsReadOnly(c.ctx, c.st, pool.Options{Cleaner: pool.CleanerOptions{Manual: true}})
	if err != nil {
		c.poolsErr = "the pools could not be opened (see the error above)"
		c.add(Finding{Phase: PhaseCross, Severity: SevError, What: fmt.Sprintf("the pools cannot be opened from the metadata: %v", err),
			Fix: "fsck --repair (not built yet) will rebuild the allocator's tables; fsck --rebuild-index the index"})
		return "the pools did not open", nil
	}
	c.pools = pools
	if len(pools) == 0 {
		return "no pool recorded (the node was formatted but never started)", nil
	}
	c.crossSeen = map[string]bool{}
	sets := 0
	perPool := make([]int, len(pools))
	for i, p := range pools {
		for _, err := range p.Allocator().Sets(c.ctx) {
			if err != nil {
				return "", fmt.Errorf("pool %s: list sets: %w", p.Name(), err)
			}
			perPool[i]++
		}
		sets += perPool[i]
	}
	total := int64(sets + len(pools))
	var done int64
	zoned := 0 // zoned members whose write pointer was compared
	for i, p := range pools {
		err := p.Check(c.ctx, pool.CheckOptions{MaxProblems: 200})
		if cerr := c.ctx.Err(); cerr != nil {
			return "", cerr
		}
		for _, e := range leaves(err) {
			c.crossSeen[p.Name()+"\x00"+e.Error()] = true
			c.add(c.indexFinding(PhaseCross, p.Name(), e))
		}
		done++
		bar.Update(done, total)
		base := done
		err = p.CheckMembers(c.ctx, func(d, _ int64) { bar.Update(base+d, total) }, c.memberFinding(p.Name(), "the member segment's header does not describe its use in the set",
			"the member's data cannot be trusted: reads rebuild it from parity; a scrub on the running node finds the damaged stripes and repairs them"))
		if err != nil {
			return "", fmt.Errorf("pool %s: %w", p.Name(), err)
		}
		n, err := p.CheckWritePointers(c.ctx, c.memberFinding(p.Name(), "the drive's zone does not hold what the allocator says was written",
			"the member's missing stripes are rebuilt from the set's other members while no more than the layout's parity count are damaged: run a scrub on the running node (plinth console: scrub start); if the drive reports the zone offline or read-only, replace the drive"))
		if err != nil {
			return "", fmt.Errorf("pool %s: write pointers: %w", p.Name(), err)
		}
		zoned += n
		for s, err := range p.Allocator().Sets(c.ctx, alloc.StateSealed, alloc.StateCleaning) {
			if err != nil {
				return "", fmt.Errorf("pool %s: list sets: %w", p.Name(), err)
			}
			if s.Live == 0 {
				c.add(Finding{Phase: PhaseCross, Severity: SevWarning, Where: Where{Pool: p.Name(), Set: uint64(s.ID)},
					What: fmt.Sprintf("orphaned space: the %s set holds nothing live (%d bytes written)", s.State, s.Frontier),
					Fix:  "the node's next start releases it (a crash between the commit that emptied it and its release leaves this)"})
			}
		}
		done = base + int64(perPool[i])
	}
	summary := fmt.Sprintf("%s, %d sets: allocator tables, index against the allocator, member segment headers", plural(len(pools), "pool", "pools"), sets)
	if zoned > 0 {
		summary += fmt.Sprintf(", the write pointers of %s against the allocator", plural(zoned, "zoned member", "zoned members"))
	}
	return summary, nil
}

// memberFinding returns a function that records a member problem as an
// error of the cross phase: what, the problem itself, and the fix.
func (c *checker) memberFinding(poolName, what, fix string) func(pool.MemberProblem) {
	return func(m pool.MemberProblem) {
		w := c.atPosition(int(m.Member.Drive))
		w.Pool, w.Set, w.Member, w.Segment = poolName, uint64(m.Set), intp(m.Index), uint32p(m.Member.Segment)
		c.add(Finding{Phase: PhaseCross, Severity: SevError, Where: w, What: fmt.Sprintf("%s: %v", what, m.Err), Fix: fix})
	}
}

// indexFinding turns a problem pool.Check reports into a finding, finding
// the set, drive and owner its message names.
func (c *checker) indexFinding(ph Phase, poolName string, e error) Finding {
	msg := e.Error()
	w := Where{Pool: poolName}
	if m := reSegment.FindStringSubmatch(msg); m != nil {
		seg, _ := strconv.ParseUint(m[1], 10, 32)
		drive, _ := strconv.Atoi(m[2])
		w.Segment, w.Position = uint32p(uint32(seg)), intp(drive)
	} else if m := reDrive.FindStringSubmatch(msg); m != nil {
		drive, _ := strconv.Atoi(m[1])
		w.Position = intp(drive)
	}
	if w.Position != nil {
		w.Drive = c.atPosition(*w.Position).Drive
	}
	if m := reSet.FindStringSubmatch(msg); m != nil {
		w.Set, _ = strconv.ParseUint(m[1], 10, 64)
	}
	if m := reOwner.FindString(msg); m != "" {
		if owner, err := strconv.Unquote(m); err == nil {
			w.Owner = owner
			if rest, ok := strings.CutPrefix(owner, "o/"); ok {
				w.Bucket, w.Key, _ = strings.Cut(rest, "/")
			}
		}
	}
	f := Finding{Phase: ph, Severity: SevError, Where: w, What: msg}
	switch {
	case errors.Is(e, alloc.ErrCorrupt):
		f.Fix = "the allocator's accounting is wrong: it could hand out space in use or lose space; fsck --repair recounts live bytes and shares from the index"
	case errors.Is(e, pool.ErrCorrupt):
		f.Fix = "the index and the allocator disagree; fsck --repair corrects the accounting and drops entries pointing at another owner's record (the record's header names its owner), and fsck --rebuild-index rebuild the index from the data logs"
	default:
		f.What = "the check could not finish: " + msg
		f.Fix = "check again; if it persists, report it"
	}
	return f
}

var (
	reSegment = regexp.MustCompile(`segment (\d+) of drive (\d+)`)
	reDrive   = regexp.MustCompile(`\bdrive (\d+)`)
	reSet     = regexp.MustCompile(`\bset (\d+)`)
	reOwner   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
)

// leaves splits the problems a checker joined (errors.Join) into one
// error each. Errors that wrap several errors for another reason
// (fmt.Errorf with two %w) are one problem and stay whole.
func leaves(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok && isJoin(err, j.Unwrap()) {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leaves(e)...)
		}
		return out
	}
	if inner := errors.Unwrap(err); inner != nil {
		if j, ok := inner.(interface{ Unwrap() []error }); ok && isJoin(inner, j.Unwrap()) {
			return leaves(inner)
		}
	}
	return []error{err}
}

// isJoin reports whether err's message is its parts' joined by newlines,
// as errors.Join makes it.
func isJoin(err error, parts []error) bool {
	msgs := make([]string, 0, len(parts))
	for _, p := range parts {
		if p != nil {
			msgs = append(msgs, p.Error())
		}
	}
	return err.Error() == strings.Join(msgs, "\n")
}
