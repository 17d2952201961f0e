package events

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// recover finds where the journal left off: it cuts a torn or garbage tail
// off events.jsonl, finds the last sequence number and loads the newest
// events into the ring. It returns a description of the repair, "" when
// there was none.
func (j *Journal) recover() (string, error) {
	name := j.path(FileName)
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return "", fmt.Errorf("events journal: %w", err)
	}
	defer f.Close()
	if err := f.Chmod(0o600); err != nil {
		return "", fmt.Errorf("events journal: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("events journal: %w", err)
	}
	size := fi.Size()

	// Newest first: the current file, then the previous one.
	var recent []Event
	validEnd := int64(-1) // end of the last whole event in events.jsonl
	s := newBackScanner(f, size)
	for {
		l, ok := s.next()
		if !ok {
			break
		}
		e, good := parse(l.b)
		if good && !l.term {
			good = false // its write did not finish: the next append would join it
		}
		switch {
		case good && validEnd < 0:
			validEnd = l.off + int64(len(l.b)) + 1
			fallthrough
		case good:
			if len(recent) < ringSize {
				recent = append(recent, e)
			}
		case validEnd >= 0:
			j.badLines.Add(1) // garbage before the last whole event: skipped
		}
		if validEnd >= 0 && len(recent) == ringSize {
			break
		}
	}
	if s.err != nil {
		return "", fmt.Errorf("events journal: %s: %w", name, s.err)
	}
	validEnd = max(validEnd, 0)
	rep := ""
	if validEnd < size {
		if err := f.Truncate(validEnd); err != nil {
			return "", fmt.Errorf("events journal: cut the torn tail of %s: %w", name, err)
		}
		if err := unix.Fdatasync(int(f.Fd())); err != nil {
			return "", fmt.Errorf("events journal: %s: %w", name, err)
		}
		j.repaired = size - validEnd
		rep = fmt.Sprintf("cut %d bytes of torn or garbage tail off %s at offset %d (a crash during an append)", size-validEnd, FileName, validEnd)
	}
	j.written.Store(validEnd)
	j.w.size = validEnd

	complete := true
	if old, err := os.Open(j.path(OldFileName)); err == nil {
		ofi, err := old.Stat()
		if err != nil {
			old.Close()
			return "", fmt.Errorf("events journal: %w", err)
		}
		s := newBackScanner(old, ofi.Size())
		for len(recent) < ringSize {
			l, ok := s.next()
			if !ok {
				break
			}
			if e, good := parse(l.b); good && l.term {
				recent = append(recent, e)
			} else {
				j.badLines.Add(1)
			}
		}
		if len(recent) == ringSize {
			complete = false
		}
		old.Close()
		if s.err != nil {
			return "", fmt.Errorf("events journal: %s: %w", OldFileName, s.err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("events journal: %w", err)
	} else if len(recent) == ringSize {
		complete = false
	}
	if len(recent) > 0 {
		j.w.seq = recent[0].Seq
		j.lastSeq.Store(j.w.seq)
	}
	for i := len(recent) - 1; i >= 0; i-- {
		j.ring.push(recent[i])
	}
	j.ring.complete = complete

	af, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return "", fmt.Errorf("events journal: %w", err)
	}
	j.w.f = af
	return rep, nil
}
