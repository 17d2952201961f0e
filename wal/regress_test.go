package wal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/faultdev"
	"github.com/plinth-storage/plinth/io/memdev"
	"github.com/plinth-storage/plinth/io/zonemu"
)

// Regression tests for bugs the crash simulation found. Each fails on the
// code before its fix.

// A Commit that starts after Close (or races it) must fail with ErrClosed.
// Before the fix, Commit's select could pick the send on the buffered
// request channel although the loop had already stopped, and the commit
// then waited for an answer that never came: forever with a background
// context.
func TestCommitAfterCloseFailsWithErrClosed(t *testing.T) {
	w, err := Create(Options{Mirrors: memMirrors(3, 4, 64<<10)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(context.Background(), []byte("before close")); err != nil {
		t.Fatal(err)
	}
	w.Close()
	for i := 0; i < 100; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := w.Commit(ctx, []byte("after close"))
		cancel()
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("commit %d after Close: %v, want ErrClosed", i, err)
		}
	}
}

// Commits racing Close all return: acknowledged, or ErrClosed.
func TestCommitsRacingCloseReturn(t *testing.T) {
	for round := 0; round < 20; round++ {
		w, err := Create(Options{Mirrors: memMirrors(3, 4, 64<<10)})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for c := 0; c < 8; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					_, err := w.Commit(ctx, []byte("racing close"))
					cancel()
					if err != nil {
						if !errors.Is(err, ErrClosed) {
							errs <- err
						}
						return
					}
				}
			}()
		}
		time.Sleep(time.Millisecond)
		w.Close()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: commit racing Close: %v, want success or ErrClosed", round, err)
		}
	}
}

// A commit that fails with ErrFull must not be in the journal. Before the
// fix, a group whose first transaction went into the last space of the
// active segment and whose next one needed a new segment while the ring
// was full failed as a whole with ErrFull, although the first transaction
// had been flushed when the segment was sealed: it was replayed at the
// next open although its Commit had failed, and a caller retrying it
// committed it twice.
func TestErrFullCommitIsNotInTheJournal(t *testing.T) {
	var faults []*faultdev.Device
	newJournal := func() (*WAL, Options) {
		faults = nil
		opts := Options{
			Mirrors: testMirrors(2, 3, 64<<10, func(m int, size int64) dev.Device {
				f := faultdev.New(memdev.New(fmt.Sprintf("mem%d", m), size, 4096), uint64(m))
				faults = append(faults, f)
				return f
			}),
			FullWait: 300 * time.Millisecond,
		}
		w, err := Create(opts)
		if err != nil {
			t.Fatal(err)
		}
		return w, opts
	}
	big := bytes.Repeat([]byte{'b'}, 8000)
	small, large := []byte("small, fits the last block"), bytes.Repeat([]byte{'L'}, 9000)
	// How many big transactions the ring holds, and whether a small one
	// still fits after them.
	w, _ := newJournal()
	k := 0
	for ; ; k++ {
		if _, err := w.Commit(context.Background(), big); err != nil {
			if !errors.Is(err, ErrFull) {
				t.Fatal(err)
			}
			break
		}
	}
	w.Close()
	w, _ = newJournal()
	for i := 0; i < k; i++ {
		if _, err := w.Commit(context.Background(), big); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Commit(context.Background(), small); err != nil {
		t.Fatalf("the ring holds %d transactions of 8000 bytes but then no small one: %v", k, err)
	}
	w.Close()

	w, opts := newJournal()
	defer w.Close()
	for i := 0; i < k-1; i++ {
		if _, err := w.Commit(context.Background(), big); err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
	}
	// Hold the loop in a slow flush of the last big transaction while two
	// commits queue behind it, so they form one group: the small one, that
	// fits the active segment, then the large one, that needs a new
	// segment.
	faults[0].Latency(faultdev.OpFlush, 200*time.Millisecond, 0)
	type result struct {
		lsn LSN
		err error
	}
	first := make(chan result, 1)
	go func() {
		l, err := w.Commit(context.Background(), big)
		first <- result{l, err}
	}()
	time.Sleep(50 * time.Millisecond)
	faults[0].Latency(faultdev.OpFlush, 0, 0)
	smallRes, largeRes := make(chan result, 1), make(chan result, 1)
	go func() {
		l, err := w.Commit(context.Background(), small)
		smallRes <- result{l, err}
	}()
	time.Sleep(20 * time.Millisecond)
	go func() {
		l, err := w.Commit(context.Background(), large)
		largeRes <- result{l, err}
	}()
	if r := <-first; r.err != nil || r.lsn != LSN(k) {
		t.Fatalf("commit %d: LSN %d, %v", k, r.lsn, r.err)
	}
	rs, rl := <-smallRes, <-largeRes
	if !errors.Is(rl.err, ErrFull) {
		t.Fatalf("the commit that needs a new segment in a full ring: LSN %d, %v; want ErrFull", rl.lsn, rl.err)
	}
	w.Close()
	_, lsns, txns := replayAll(t, opts, 0)
	for i, txn := range txns {
		if bytes.Equal(txn, small) && rs.err != nil {
			t.Fatalf("the small transaction is in the journal at LSN %d, but its Commit failed: %v", lsns[i], rs.err)
		}
		if bytes.Equal(txn, large) {
			t.Fatalf("the large transaction is in the journal at LSN %d, but its Commit failed: %v", lsns[i], rl.err)
		}
	}
	if rs.err != nil || rs.lsn != LSN(k+1) || len(lsns) != k+1 || !bytes.Equal(txns[k], small) {
		t.Fatalf("small transaction: LSN %d, %v; replay has %d transactions", rs.lsn, rs.err, len(lsns))
	}
}

// A power cut while the journal starts a new segment leaves the new
// segment's header on the mirrors that were done with it and not on the
// others. That segment holds no transaction, so no mirror missed
// anything. Before the fix Open took the mirrors without the header for
// mirrors that had missed writes ("lacks the newest journal segment"),
// failed them, and with two of three failed the journal came back
// read-only after an ordinary power cut.
func TestPowerCutWhileStartingASegment(t *testing.T) {
	// Cut mirror 1 (the rail cuts the others at once) at each of its
	// operations across two segment switches: every cut that falls on
	// the start of a segment leaves the new header on mirror 0 only.
	lessGC(t)
	for k := 0; k < 34; k++ {
		t.Run(fmt.Sprintf("cut-after-%d", k), func(t *testing.T) {
			n := newSimNode(t, uint64(k), nodeConfig{ring: 6, segSize: 64 << 10})
			w, err := Create(n.options())
			if err != nil {
				t.Fatal(err)
			}
			n.rail.mode = faultdev.CutDrop
			n.faults[1].PowerCutAfter(k, faultdev.CutDrop)
			var acked [][]byte
			for i := 0; i < 24; i++ {
				p := append([]byte(fmt.Sprintf("%d ", i)), bytes.Repeat([]byte{'b'}, 8000)...)
				if _, err := w.Commit(context.Background(), p); err != nil {
					break
				}
				// Mirrors 0 and 2 may finish their write before the cut
				// reaches them: the commit is then acknowledged.
				acked = append(acked, p)
			}
			w.Close()
			n.disarm()
			n.restart(t)
			w2, lsns, txns := replayAll(t, n.options(), 0)
			defer w2.Close()
			for i, p := range acked {
				if i >= len(lsns) || lsns[i] != LSN(i+1) || !bytes.Equal(txns[i], p) {
					t.Fatalf("acknowledged transaction %d missing after the cut", i+1)
				}
			}
			if st := w2.Stats(); st.Healthy != 3 || st.ReadOnly {
				t.Fatalf("after a power cut: %d healthy mirrors, read-only %v; events:%s", st.Healthy, st.ReadOnly, n.ev)
			}
			if _, err := w2.Commit(context.Background(), []byte("after")); err != nil {
				t.Fatalf("commit after the power cut: %v", err)
			}
		})
	}
}

// A power cut that tears the last write of a nearly full segment on some
// mirrors, while another mirror completed it: Open copies the records the
// torn mirrors lack from the complete one, after the torn bytes (a segment
// is never rewritten). Before the fix the journal filled segments to the
// last block, so that copy did not fit ("segment full"), the torn mirrors
// were failed, and an ordinary power cut left the journal read-only.
func TestPowerCutTearsTheLastWriteOfAFullSegment(t *testing.T) {
	for before := 1; before <= 3; before++ {
		for seed := uint64(0); seed < 8; seed++ {
			n := newSimNode(t, seed, nodeConfig{ring: 6, segSize: 64 << 10})
			n.rail.separate = true
			w, err := Create(n.options())
			if err != nil {
				t.Fatal(err)
			}
			// Transactions of 20000 bytes take five blocks a write;
			// records go in [4096, 57344) of a 64 KiB segment. Before the
			// fix the second write filled the first segment to 45056,
			// leaving three blocks.
			var acked [][]byte
			for i := 0; i < before; i++ {
				p := bytes.Repeat([]byte{byte(i)}, 20000)
				if _, err := w.Commit(context.Background(), p); err != nil {
					t.Fatal(err)
				}
				acked = append(acked, p)
			}
			// The next write completes on mirror 0; mirrors 1 and 2 lose
			// power at the operation after it, keeping a random part of
			// what they had not flushed.
			n.faults[1].PowerCutAfter(1, faultdev.CutTear)
			n.faults[2].PowerCutAfter(1, faultdev.CutTear)
			last := bytes.Repeat([]byte{0xff}, 20000)
			if _, err := w.Commit(context.Background(), last); !errors.Is(err, ErrReadOnly) {
				t.Fatalf("seed %d: commit with two mirrors cut: %v", seed, err)
			}
			w.Close()
			n.faults[0].PowerCut(faultdev.CutDrop)
			n.restart(t)
			w2, lsns, txns := replayAll(t, n.options(), 0)
			for i, p := range acked {
				if i >= len(lsns) || !bytes.Equal(txns[i], p) {
					t.Fatalf("%d before, seed %d: acknowledged transaction %d lost", before, seed, i+1)
				}
			}
			if st := w2.Stats(); st.Healthy != 3 || st.ReadOnly {
				t.Fatalf("%d before, seed %d: after a power cut: %d healthy mirrors, read-only %v; events:%s", before, seed, st.Healthy, st.ReadOnly, n.ev)
			}
			if _, err := w2.Commit(context.Background(), []byte("after")); err != nil {
				t.Fatalf("%d before, seed %d: commit after the power cut: %v", before, seed, err)
			}
			w2.Close()
		}
	}
}

// finishCut is an emulated zoned drive whose power fails when the journal
// finishes a zone: after the footer that seals the segment is durable,
// before the zone is finished.
type finishCut struct {
	*zonemu.Device
	armed *atomic.Bool
	rail  *rail
}

func (d finishCut) FinishZone(off int64) error {
	if d.armed.CompareAndSwap(true, false) {
		d.rail.trip()
		return &dev.OpError{Op: "finish-zone", Path: d.Path(), Offset: off, Err: dev.ErrPowerCut}
	}
	return d.Device.FinishZone(off)
}

// activeZones counts the open and closed ring zones of each mirror.
func activeZones(t *testing.T, n *simNode) []int {
	t.Helper()
	counts := make([]int, len(n.mirrors))
	for m, mir := range n.mirrors {
		for _, loc := range mir.Ring {
			z, _ := dev.AsZoned(loc.Dev)
			zs, err := z.ReportZones(loc.Start, 1)
			if err != nil {
				t.Fatal(err)
			}
			if zs[0].Cond.IsActive() {
				counts[m]++
			}
		}
	}
	return counts
}

// The journal writes one segment per mirror at a time: after Open every
// other ring zone must be full or empty, holding no open or active zone
// resource. Before the fix, Open left the newest segment's zone active
// when that segment was sealed already (a power cut between the footer
// and the finish), so two such power cuts used up a drive with two active
// zones: the next segment could not start there ("too many active zones")
// and the mirror was failed.
func TestSealedNewestSegmentZoneFinishedAtOpen(t *testing.T) {
	n := newSimNode(t, 1, nodeConfig{ring: 4, segSize: 64 << 10, zoned: true, maxOpen: 2, maxActive: 2, behavior: zonemu.BehaviorZNS})
	var armed atomic.Bool
	wrap := func() {
		for m, d := range n.devs {
			n.devs[m] = finishCut{Device: d.(*zonemu.Device), armed: &armed, rail: n.rail}
		}
		n.buildMirrors()
	}
	wrap()
	w, err := Create(n.options())
	if err != nil {
		t.Fatal(err)
	}
	// A segment holds one 20000-byte transaction (five blocks, and five
	// more kept free to catch up a torn write): every second commit seals
	// one segment and starts the next.
	big := bytes.Repeat([]byte{'z'}, 20000)
	for round := 0; round < 3; round++ {
		if _, err := w.Commit(context.Background(), big); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		armed.Store(true)
		w.Commit(context.Background(), big) // seals mirror 0's segment, then the power fails
		w.Close()
		if !n.rail.isTripped() {
			t.Fatalf("round %d: the commit did not seal a segment", round)
		}
		n.restart(t)
		wrap()
		w, _, _ = replayAll(t, n.options(), 0)
		if st := w.Stats(); st.Healthy != 3 || st.ReadOnly {
			t.Fatalf("round %d: after the power cut %d mirrors healthy, read-only %v; events:%s", round, st.Healthy, st.ReadOnly, n.ev)
		}
		for m, c := range activeZones(t, n) {
			if c > 1 {
				t.Fatalf("round %d: mirror%d has %d active ring zones after Open, want only the new segment's", round, m, c)
			}
		}
	}
	w.Close()
}

// The same for a newest segment damaged on one mirror (read from the
// others, neither appended to nor sealed there): before the fix its zone
// stayed open, and with two such segments a ZNS drive with two open zones
// could not open the next one.
func TestDamagedNewestSegmentZoneFinishedAtOpen(t *testing.T) {
	n := newSimNode(t, 2, nodeConfig{ring: 4, segSize: 64 << 10, zoned: true, maxOpen: 2, maxActive: 2, behavior: zonemu.BehaviorZNS})
	w, err := Create(n.options())
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 3; round++ {
		// Three writes in the newest segment; the first is damaged on
		// mirror 0.
		var first []byte
		for i := 0; i < 3; i++ {
			p := []byte(fmt.Sprintf("round %d transaction %d %s", round, i, bytes.Repeat([]byte{'d'}, 100)))
			if _, err := w.Commit(context.Background(), p); err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				first = p
			}
		}
		w.Close()
		off := bytes.LastIndex(n.mems[0].Bytes(), first)
		if off < 0 {
			t.Fatal("transaction not found on mirror 0")
		}
		n.faults[0].CorruptAt(int64(off + 5))
		n.ev.reset()
		w, _, _ = replayAll(t, n.options(), 0)
		if n.ev.count(EventBadCopy, "mirror0") == 0 {
			t.Fatalf("round %d: no bad-copy event for mirror0; events:%s", round, n.ev)
		}
		if st := w.Stats(); st.Healthy != 3 || st.ReadOnly {
			t.Fatalf("round %d: %d mirrors healthy, read-only %v; events:%s", round, st.Healthy, st.ReadOnly, n.ev)
		}
		for m, c := range activeZones(t, n) {
			if c > 1 {
				t.Fatalf("round %d: mirror%d has %d active ring zones after Open, want only the new segment's", round, m, c)
			}
		}
	}
	w.Close()
}

// resetCut is an emulated zoned drive whose power fails right after the
// journal resets a zone: the reset is durable, the header the journal
// writes next is not.
type resetCut struct {
	*zonemu.Device
	armed *atomic.Bool
	rail  *rail
}

func (d resetCut) ResetZone(off int64) error {
	err := d.Device.ResetZone(off)
	if err == nil && d.armed.CompareAndSwap(true, false) {
		d.rail.trip()
	}
	return err
}

// When everything in the journal is checkpointed, Open releases the newest
// segment too, and the next segment may reuse its ring position at once.
// On a zoned drive that starts with a zone reset: a power cut after the
// reset and before the new header leaves that mirror with neither segment
// at the position. Nothing after the checkpoint is missing anywhere, so
// the mirror is not behind. Before the fix Open failed it ("lacks the
// newest journal segment"), because it judged mirrors by the newest
// segment's header whether or not that segment held anything after the
// checkpoint.
func TestMirrorWithoutAFullyCheckpointedNewestSegmentIsNotBehind(t *testing.T) {
	n := newSimNode(t, 3, nodeConfig{ring: 4, segSize: 64 << 10, zoned: true})
	var armed atomic.Bool
	wrap := func() {
		for m, d := range n.devs {
			n.devs[m] = resetCut{Device: d.(*zonemu.Device), armed: &armed, rail: n.rail}
		}
		n.buildMirrors()
	}
	wrap()
	w, err := Create(n.options())
	if err != nil {
		t.Fatal(err)
	}
	var last LSN
	for i := 0; i < 5; i++ {
		if last, err = w.Commit(context.Background(), []byte(fmt.Sprintf("transaction %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Checkpoint(last); err != nil {
		t.Fatal(err)
	}
	w.Close()
	// Reopen: the journal starts a new segment, and the power fails
	// after the first zone reset that takes.
	armed.Store(true)
	w, lsns, _ := replayAll(t, n.options(), last)
	w.Close()
	if len(lsns) != 0 || !n.rail.isTripped() {
		t.Fatalf("replayed %d, power cut %v", len(lsns), n.rail.isTripped())
	}
	n.restart(t)
	wrap()
	n.ev.reset()
	w, lsns, _ = replayAll(t, n.options(), last)
	defer w.Close()
	if st := w.Stats(); len(lsns) != 0 || st.Healthy != 3 || st.ReadOnly || st.NextLSN != last+1 {
		t.Fatalf("after the power cut: replayed %d, %+v; events:%s", len(lsns), st, n.ev)
	}
	if l, err := w.Commit(context.Background(), []byte("after")); err != nil || l != last+1 {
		t.Fatalf("commit after the power cut: LSN %d, %v", l, err)
	}
}
