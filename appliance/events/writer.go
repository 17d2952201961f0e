package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// maxBatch bounds the events written per batch. It is below the ring's
// size, so an event leaves the ring only after it was written.
const maxBatch = ringSize / 4

// writer is the state of the writer goroutine.
type writer struct {
	f        *os.File // events.jsonl, nil after a failed rotation
	size     int64    // bytes of whole lines in f
	seq      uint64   // the last sequence number given
	buf      []byte   // lines not written yet
	lines    int      // lines in buf
	unsynced bool     // f has writes not covered by fdatasync
	err      error    // the first error since the last Sync answer
}

// run is the writer goroutine: it takes events off the queue in batches,
// writes them and syncs them.
func (j *Journal) run() {
	defer close(j.done)
	defer j.endFollowers()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	armed := false
	for {
		var it item
		var ok bool
		if armed {
			select {
			case it, ok = <-j.q:
			case <-timer.C:
				armed = false
				j.sync()
				continue
			}
		} else {
			it, ok = <-j.q
		}
		closing := !ok
		var waiters []chan error
		now := false
		if ok {
			now = j.take(it, &waiters)
		}
	drain:
		for n := 1; ok && n < maxBatch; n++ {
			select {
			case it, ok = <-j.q:
				if !ok {
					closing = true
					break drain
				}
				now = j.take(it, &waiters) || now
			default:
				break drain
			}
		}
		if n := j.pendingDrop.Swap(0); n > 0 {
			j.add(Event{Time: j.opts.Now(), Severity: Warning, Kind: KindDropped, Source: "node",
				Detail: fmt.Sprintf("%d events dropped: the events queue was full", n)})
		}
		j.flushBuf()
		if now || closing || len(waiters) > 0 {
			if armed {
				timer.Stop()
				armed = false
			}
			j.sync()
			err := j.w.err
			j.w.err = nil
			for _, w := range waiters {
				w <- err
			}
		} else if j.w.unsynced && !armed {
			timer.Reset(j.opts.SyncInterval)
			armed = true
		}
		if closing {
			j.closeFile()
			return
		}
	}
}

// take handles one queued item and says whether it needs a sync at once.
func (j *Journal) take(it item, waiters *[]chan error) bool {
	if it.sync != nil {
		*waiters = append(*waiters, it.sync)
		return false
	}
	return j.add(it.ev)
}

// add gives e its sequence number, shows it to the ring and the followers
// and queues its line; it says whether e needs a sync at once.
func (j *Journal) add(e Event) bool {
	normalize(&e)
	j.w.seq++
	e.Seq = j.w.seq
	j.lastSeq.Store(e.Seq)
	j.ringMu.Lock()
	j.ring.push(e)
	j.ringMu.Unlock()
	j.broadcast(&e)
	line, err := json.Marshal(&e)
	if err != nil { // no field of Event fails to encode; keep the event anyway
		line, _ = json.Marshal(Event{Seq: e.Seq, Time: e.Time, Severity: e.Severity, Kind: e.Kind, Source: e.Source, Detail: "unencodable event: " + err.Error()})
	}
	line = append(line, '\n')
	if j.w.size+int64(len(j.w.buf)+len(line)) > j.opts.MaxBytes && j.w.size+int64(len(j.w.buf)) > 0 {
		j.flushBuf()
		j.rotate()
	}
	j.w.buf = append(j.w.buf, line...)
	j.w.lines++
	return urgent(&e)
}

// flushBuf writes the queued lines in one write. A failed write loses them:
// the file is cut back to its last whole line so that the next write starts
// a line.
func (j *Journal) flushBuf() {
	if len(j.w.buf) == 0 {
		return
	}
	defer func() {
		j.w.buf = j.w.buf[:0]
		j.w.lines = 0
		if cap(j.w.buf) > 1<<20 {
			j.w.buf = nil
		}
	}()
	if j.w.f == nil && !j.reopen() {
		j.lose()
		return
	}
	n, err := j.w.f.Write(j.w.buf)
	if err != nil {
		j.fail(fmt.Errorf("events journal: write %s: %w", j.path(FileName), err))
		if n > 0 {
			if terr := j.w.f.Truncate(j.w.size); terr != nil {
				j.fail(fmt.Errorf("events journal: cut a failed write: %w", terr))
			}
		}
		j.lose()
		return
	}
	j.w.size += int64(n)
	j.written.Store(j.w.size)
	j.w.unsynced = true
	j.linesWritten.Add(uint64(j.w.lines))
}

func (j *Journal) lose() { j.lost.Add(uint64(j.w.lines)) }

// fail records a write-path error for Stats and the next Sync.
func (j *Journal) fail(err error) {
	j.setErr(err)
	if j.w.err == nil {
		j.w.err = err
	}
}

// sync makes the writes so far durable.
func (j *Journal) sync() {
	if !j.w.unsynced || j.w.f == nil {
		return
	}
	if err := unix.Fdatasync(int(j.w.f.Fd())); err != nil {
		j.fail(fmt.Errorf("events journal: fdatasync %s: %w", j.path(FileName), err))
		return
	}
	j.w.unsynced = false
	j.syncs.Add(1)
}

// rotate moves events.jsonl to events.jsonl.1 and starts a new one.
func (j *Journal) rotate() {
	j.sync()
	if j.w.f != nil {
		if err := j.w.f.Close(); err != nil {
			j.fail(fmt.Errorf("events journal: close before rotation: %w", err))
		}
		j.w.f = nil
	}
	j.fileMu.Lock()
	err := os.Rename(j.path(FileName), j.path(OldFileName))
	if err == nil || errors.Is(err, os.ErrNotExist) {
		j.written.Store(0)
		err = nil
	}
	j.fileMu.Unlock()
	if err != nil {
		j.fail(fmt.Errorf("events journal: rotate: %w", err))
		// Keep appending to the file we have rather than lose events.
	} else {
		j.rotations.Add(1)
	}
	j.reopen()
	j.syncDir()
}

// reopen opens events.jsonl for appending after a rotation or a failure.
func (j *Journal) reopen() bool {
	j.fileMu.Lock()
	defer j.fileMu.Unlock()
	f, err := os.OpenFile(j.path(FileName), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		j.fail(fmt.Errorf("events journal: %w", err))
		return false
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		j.fail(fmt.Errorf("events journal: %w", err))
		return false
	}
	j.w.f, j.w.size = f, fi.Size()
	j.written.Store(j.w.size)
	return true
}

func (j *Journal) syncDir() {
	if err := unix.Fsync(int(j.dirf.Fd())); err != nil {
		j.fail(fmt.Errorf("events journal: sync directory %s: %w", j.dir, err))
	}
}

func (j *Journal) closeFile() {
	if j.w.f == nil {
		j.closeErr = j.w.err
		return
	}
	err := j.w.f.Close()
	j.w.f = nil
	switch {
	case j.w.err != nil:
		j.closeErr = j.w.err
	case err != nil:
		j.closeErr = fmt.Errorf("events journal: close: %w", err)
	}
}
