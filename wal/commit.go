package wal

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/plinth-storage/plinth/seg"
)

// request is one Commit waiting for its group.
type request struct {
	txn  []byte
	lsn  LSN
	err  error
	done chan struct{}
}

// Commit appends txn to the journal and returns its LSN once it is on
// stable media on every healthy mirror. Concurrent commits share writes and
// flushes (group commit). A commit that fails is in doubt, as after a
// crash: if ctx ended first, or the journal went read-only while its group
// was being written, the transaction may be on some mirror and be replayed
// by the next Open. Only ErrTooLarge and ErrClosed before queueing mean it
// was certainly not written.
func (w *WAL) Commit(ctx context.Context, txn []byte) (LSN, error) {
	if len(txn) > w.maxTxn {
		return 0, fmt.Errorf("commit: %w: %d bytes, at most %d", ErrTooLarge, len(txn), w.maxTxn)
	}
	r := &request{txn: txn, done: make(chan struct{})}
	select {
	case w.reqs <- r:
	case <-w.closing:
		return 0, fmt.Errorf("commit: %w", ErrClosed)
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	select {
	case <-r.done:
		return r.lsn, r.err
	case <-w.loopDone:
		// The loop stopped (Close): it answered r before, or never saw
		// it and never will.
		select {
		case <-r.done:
			return r.lsn, r.err
		default:
			return 0, fmt.Errorf("commit: %w", ErrClosed)
		}
	case <-ctx.Done():
		return 0, fmt.Errorf("commit: %w (the transaction may still commit)", ctx.Err())
	}
}

// loop is the journal's single writer: it gathers the commits that queued
// while the previous group was being flushed into the next group.
func (w *WAL) loop() {
	defer close(w.loopDone)
	var carry *request
	for {
		var first *request
		if carry != nil {
			first, carry = carry, nil
		} else {
			select {
			case first = <-w.reqs:
			case <-w.closing:
				// Finish what was queued before Close.
				select {
				case first = <-w.reqs:
				default:
					return
				}
			}
		}
		batch, size := []*request{first}, len(first.txn)
	gather:
		for {
			select {
			case r := <-w.reqs:
				if size+len(r.txn)+2*seg.RecordHeaderSize > w.opts.MaxBatch/2 {
					carry = r
					break gather
				}
				batch = append(batch, r)
				size += len(r.txn) + seg.RecordHeaderSize
			default:
				break gather
			}
		}
		w.commitBatch(batch)
	}
}

// commitBatch makes a group durable on every healthy mirror and answers
// its commits.
func (w *WAL) commitBatch(batch []*request) {
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.appendBatch(batch)
	if err == nil {
		err = w.flushAll()
	}
	for _, r := range batch {
		// A request whose record a flush made durable is committed even
		// if a later one of the group failed (ErrFull after the segment
		// holding it was sealed): it is acknowledged, never failed.
		if r.lsn == 0 || r.lsn > w.flushed {
			r.err, r.lsn = err, 0
		} else {
			w.stats.Commits++
			w.stats.Bytes += uint64(len(r.txn))
		}
		close(r.done)
	}
	if err == nil {
		w.stats.Batches++
	}
}

// appendBatch appends the group's records to every healthy mirror's
// pending write, flushing and switching segments as they fill. Called
// with w.mu held.
func (w *WAL) appendBatch(batch []*request) error {
	for _, r := range batch {
		for {
			if w.readOnly != nil {
				return w.readOnly
			}
			if w.active < 0 {
				if err := w.waitForSpace(); err != nil {
					return err
				}
				continue
			}
			err := w.fits(len(r.txn))
			if errors.Is(err, seg.ErrBatchFull) {
				if err := w.flushAll(); err != nil {
					return err
				}
				continue
			}
			if errors.Is(err, seg.ErrFull) {
				if err := w.switchSegment(); err != nil {
					return err
				}
				continue
			}
			if err != nil {
				return err
			}
			break
		}
		lsn := w.nextLSN
		for m, sw := range w.writers {
			if sw == nil {
				continue
			}
			got, err := sw.Append(TypeTxn, 0, r.txn)
			if err != nil {
				w.fail(m, fmt.Errorf("append LSN %d: %w", lsn, err))
				continue
			}
			if got != lsn {
				w.fail(m, fmt.Errorf("mirror at LSN %d, journal at %d", got, lsn))
			}
		}
		w.checkHealth()
		if w.readOnly != nil {
			return w.readOnly
		}
		r.lsn = lsn
		w.nextLSN++
		w.positions[w.active].last = lsn
	}
	return nil
}

// fits asks every healthy mirror whether a record of n bytes fits, keeping
// room for a catch-up (see roomToCatchUp).
func (w *WAL) fits(n int) error {
	var firstErr error
	for _, sw := range w.writers {
		if sw == nil {
			continue
		}
		err := sw.Fits(n)
		if err == nil && !w.roomToCatchUp(sw, n) {
			err = seg.ErrFull
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// roomToCatchUp reports whether mirror m's active segment keeps room for a
// second copy of the pending write once a record of n bytes joins it. A
// power cut can tear that write on some mirrors while others complete it;
// Open then appends what the torn mirrors lack after the torn bytes (a
// segment is never rewritten), and that must fit, or they are failed. The
// first write of a segment is exempt, so that a record that fits a segment
// at all is always accepted.
func (w *WAL) roomToCatchUp(sw *seg.Writer, n int) bool {
	if sw.Written() == int64(sw.Header().BlockSize) && sw.Pending() == 0 {
		return true
	}
	return sw.Written()+2*sw.WriteWith(n) <= sw.Limit()
}

// flushAll writes and flushes every healthy mirror's pending write in
// parallel. A mirror that fails is taken out; the group is durable when
// the remaining healthy mirrors have it.
func (w *WAL) flushAll() error {
	errs := make([]error, len(w.writers))
	var wg sync.WaitGroup
	for m, sw := range w.writers {
		if sw == nil || sw.Pending() == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[m] = sw.Flush()
		}()
	}
	wg.Wait()
	for m, err := range errs {
		if err != nil {
			w.fail(m, fmt.Errorf("journal write: %w", err))
		}
	}
	w.checkHealth()
	if w.readOnly == nil {
		w.flushed = w.nextLSN - 1
	}
	return w.readOnly
}

// switchSegment seals the active segment on every mirror and starts the
// next one, waiting for a checkpoint if the ring is full.
func (w *WAL) switchSegment() error {
	if err := w.flushAll(); err != nil {
		return err
	}
	for m, sw := range w.writers {
		if sw == nil {
			continue
		}
		if _, err := sw.Seal(); err != nil {
			w.fail(m, fmt.Errorf("seal journal segment %d: %w", w.active, err))
		}
		w.writers[m] = nil
	}
	w.checkHealth()
	if w.readOnly != nil {
		return w.readOnly
	}
	w.positions[w.active].last = w.nextLSN - 1
	w.active = -1
	w.release()
	w.startSegment()
	return nil
}

// waitForSpace waits until a checkpoint frees a ring position, then
// starts a segment there. Called with w.mu held.
func (w *WAL) waitForSpace() error {
	deadline := w.opts.Now().Add(w.opts.FullWait)
	w.event(EventFull, -1, fmt.Sprintf("journal full at LSN %d (checkpoint at %d, %d segments in the ring); commits wait for a checkpoint", w.nextLSN-1, w.checkpoint, len(w.positions)))
	timer := time.AfterFunc(w.opts.FullWait, func() {
		w.mu.Lock()
		w.space.Broadcast()
		w.mu.Unlock()
	})
	defer timer.Stop()
	for w.freePosition() < 0 {
		if w.closed {
			return fmt.Errorf("commit: %w", ErrClosed)
		}
		if !w.opts.Now().Before(deadline) {
			return fmt.Errorf("commit: %w: no checkpoint released journal space for %s (journal at LSN %d, checkpoint at %d); checkpoint more often or give the journal more segments",
				ErrFull, w.opts.FullWait, w.nextLSN-1, w.checkpoint)
		}
		w.space.Wait()
	}
	w.startSegment()
	return nil
}

// MaxTxn is the largest transaction Commit accepts, in bytes.
func (w *WAL) MaxTxn() int { return w.maxTxn }
