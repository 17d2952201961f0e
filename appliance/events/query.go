package events

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"time"
)

// DefaultLimit is the number of events a query returns when Filter.Limit is
// not set.
const DefaultLimit = 100

// Filter selects events. Zero fields select everything.
type Filter struct {
	AfterSeq    uint64    // only events with Seq > AfterSeq
	Since       time.Time // only events at or after Since
	Kinds       []string  // only these kinds
	MinSeverity string    // only events at least this severe
	Pool, Drive string    // only events of this pool, this drive
	// Limit is the most events a query returns (DefaultLimit when 0 or
	// less): the newest Limit of those that match, oldest first.
	Limit int
}

// Validate reports a filter that names an unknown severity.
func (f Filter) Validate() error {
	if f.MinSeverity != "" && SeverityRank(f.MinSeverity) < 0 {
		return fmt.Errorf("events: unknown severity %q (want info, warning, error or critical)", f.MinSeverity)
	}
	return nil
}

// Match says whether e passes the filter (Limit aside).
func (f *Filter) Match(e *Event) bool {
	switch {
	case e.Seq <= f.AfterSeq:
		return false
	case !f.Since.IsZero() && e.Time.Before(f.Since):
		return false
	case f.Pool != "" && e.Pool != f.Pool:
		return false
	case f.Drive != "" && e.Drive != f.Drive:
		return false
	case f.MinSeverity != "" && SeverityRank(e.Severity) < SeverityRank(f.MinSeverity):
		return false
	case len(f.Kinds) > 0 && !slices.Contains(f.Kinds, e.Kind):
		return false
	}
	return true
}

// Query returns the newest f.Limit events that match f, oldest first. Recent
// events come from memory; older ones from the two files, read backwards
// from the newest, so a query reads no more than it needs. Lines that do not
// parse are skipped and counted in Stats.BadLines. An event is visible once
// the writer has taken it off the queue, normally at once; Sync first to be
// sure every event emitted so far is seen.
func (j *Journal) Query(f Filter) ([]Event, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	var out []Event // newest first
	done := false

	j.ringMu.RLock()
	for i := 0; i < j.ring.n; i++ {
		e := j.ring.at(i)
		if e.Seq <= f.AfterSeq {
			done = true
			break
		}
		if f.Match(e) {
			out = append(out, *e)
			if len(out) == limit {
				done = true
				break
			}
		}
	}
	below := j.ring.oldestSeq() // the disk is read for events older than this
	if j.ring.complete {
		done = true
	}
	j.ringMu.RUnlock()

	if !done {
		var err error
		out, err = j.queryFiles(&f, limit, below, out)
		if err != nil {
			return nil, err
		}
	}
	slices.Reverse(out)
	return out, nil
}

// queryFiles adds to out (newest first) the matching events older than
// below (any, when below is 0) from the files.
func (j *Journal) queryFiles(f *Filter, limit int, below uint64, out []Event) ([]Event, error) {
	j.fileMu.RLock()
	cur, cerr := os.Open(j.path(FileName))
	curSize := j.written.Load()
	old, oerr := os.Open(j.path(OldFileName))
	j.fileMu.RUnlock()
	if cerr == nil {
		defer cur.Close()
	} else if !errors.Is(cerr, os.ErrNotExist) {
		return nil, fmt.Errorf("events journal: %w", cerr)
	}
	if oerr == nil {
		defer old.Close()
	} else if !errors.Is(oerr, os.ErrNotExist) {
		return nil, fmt.Errorf("events journal: %w", oerr)
	}
	type src struct {
		f    *os.File
		size int64
	}
	var srcs []src
	if cerr == nil {
		srcs = append(srcs, src{cur, curSize})
	}
	if oerr == nil {
		fi, err := old.Stat()
		if err != nil {
			return nil, fmt.Errorf("events journal: %w", err)
		}
		srcs = append(srcs, src{old, fi.Size()})
	}
	for _, s := range srcs {
		sc := newBackScanner(s.f, s.size)
		for {
			l, ok := sc.next()
			if !ok {
				break
			}
			e, good := parse(l.b)
			if !good || !l.term {
				j.badLines.Add(1)
				continue
			}
			if below != 0 && e.Seq >= below {
				continue
			}
			if e.Seq <= f.AfterSeq {
				return out, nil
			}
			if f.Match(&e) {
				out = append(out, e)
				if len(out) == limit {
					return out, nil
				}
			}
		}
		if sc.err != nil {
			return nil, fmt.Errorf("events journal: %s: %w", s.f.Name(), sc.err)
		}
	}
	return out, nil
}
