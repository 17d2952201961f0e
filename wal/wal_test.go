package wal

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/faultdev"
	"github.com/plinth-storage/plinth/io/memdev"
	"github.com/plinth-storage/plinth/seg"
)

var testNode = uuid.MustParse("0a0a0a0a-1111-4222-8333-444444444444")

// testMirrors builds n mirrors, each a ring of ring segments of segSize
// bytes on its own device, made by mk.
func testMirrors(n, ring int, segSize int64, mk func(m int, size int64) dev.Device) []Mirror {
	var ms []Mirror
	for m := 0; m < n; m++ {
		d := mk(m, int64(ring)*segSize)
		mir := Mirror{Name: fmt.Sprintf("mirror%d", m), Node: testNode, Drive: uuid.New()}
		for i := 0; i < ring; i++ {
			mir.Ring = append(mir.Ring, seg.Location{Dev: d, Index: uint32(i), Start: int64(i) * segSize, Capacity: segSize})
		}
		ms = append(ms, mir)
	}
	return ms
}

func memMirrors(n, ring int, segSize int64) []Mirror {
	return testMirrors(n, ring, segSize, func(m int, size int64) dev.Device {
		return memdev.New(fmt.Sprintf("mem%d", m), size, 4096)
	})
}

func txn(i int) []byte { return []byte(fmt.Sprintf("txn %d %s", i, strings.Repeat("x", i%300))) }

func replayAll(t *testing.T, opts Options, checkpoint LSN) (*WAL, []LSN, [][]byte) {
	t.Helper()
	var lsns []LSN
	var txns [][]byte
	w, err := Open(opts, checkpoint, func(l LSN, b []byte) error {
		lsns = append(lsns, l)
		txns = append(txns, append([]byte(nil), b...))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return w, lsns, txns
}

func TestCommitReplay(t *testing.T) {
	opts := Options{Mirrors: memMirrors(3, 4, 256<<10)}
	w, err := Create(opts)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	got := make([]LSN, 200)
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; i < 200; i += 8 {
				l, err := w.Commit(context.Background(), txn(i))
				if err != nil {
					t.Error(err)
					return
				}
				got[i] = l
			}
		}()
	}
	wg.Wait()
	st := w.Stats()
	if st.Commits != 200 || st.Batches == 0 || st.Batches > 200 || st.NextLSN != 201 {
		t.Fatalf("stats %+v", st)
	}
	w.Close()
	w2, lsns, txns := replayAll(t, opts, 0)
	defer w2.Close()
	if len(lsns) != 200 {
		t.Fatalf("replayed %d of 200", len(lsns))
	}
	byLSN := map[LSN]int{}
	for i, l := range got {
		byLSN[l] = i
	}
	for k, l := range lsns {
		if l != LSN(k+1) || string(txns[k]) != string(txn(byLSN[l])) {
			t.Fatalf("replay %d: LSN %d %q", k, l, txns[k])
		}
	}
	// A replay from a checkpoint starts after it.
	w2.Close()
	w3, lsns, _ := replayAll(t, opts, 150)
	defer w3.Close()
	if len(lsns) != 50 || lsns[0] != 151 {
		t.Fatalf("replay after checkpoint 150: %d from %v", len(lsns), lsns[:1])
	}
	l, err := w3.Commit(context.Background(), []byte("after reopen"))
	if err != nil || l != 201 {
		t.Fatalf("commit after reopen: %d %v", l, err)
	}
}

func TestBackPressureAndCheckpoint(t *testing.T) {
	var events []Event
	var mu sync.Mutex
	opts := Options{Mirrors: memMirrors(2, 3, 64<<10), FullWait: 300 * time.Millisecond,
		Events: func(e Event) { mu.Lock(); events = append(events, e); mu.Unlock() }}
	w, err := Create(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	big := make([]byte, 8000)
	var last LSN
	var ferr error
	for i := 0; i < 100 && ferr == nil; i++ {
		var l LSN
		if l, ferr = w.Commit(context.Background(), big); ferr == nil {
			last = l
		}
	}
	if !errors.Is(ferr, ErrFull) || !strings.Contains(ferr.Error(), "checkpoint") {
		t.Fatalf("filling the journal: %v", ferr)
	}
	// A checkpoint frees space; a waiting commit goes on.
	done := make(chan error)
	go func() {
		_, err := w.Commit(context.Background(), big)
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := w.Checkpoint(last); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("commit after checkpoint: %v", err)
	}
	if err := w.Checkpoint(w.Stats().NextLSN + 5); err == nil {
		t.Fatal("checkpoint beyond the journal accepted")
	}
	mu.Lock()
	defer mu.Unlock()
	found := false
	for _, e := range events {
		found = found || e.Kind == EventFull
	}
	if !found {
		t.Fatalf("no journal-full event: %v", events)
	}
}

func TestMirrorFailureAndReadOnly(t *testing.T) {
	var faults []*faultdev.Device
	var events []Event
	var mu sync.Mutex
	opts := Options{Mirrors: testMirrors(3, 4, 128<<10, func(m int, size int64) dev.Device {
		f := faultdev.New(memdev.New(fmt.Sprintf("mem%d", m), size, 4096), uint64(m))
		faults = append(faults, f)
		return f
	}), Events: func(e Event) { mu.Lock(); events = append(events, e); mu.Unlock() }}
	w, err := Create(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i := 0; i < 10; i++ {
		if _, err := w.Commit(context.Background(), txn(i)); err != nil {
			t.Fatal(err)
		}
	}
	faults[1].FailRate(faultdev.OpWrite, 1)
	for i := 10; i < 20; i++ {
		if _, err := w.Commit(context.Background(), txn(i)); err != nil {
			t.Fatalf("commit with one mirror failed: %v", err)
		}
	}
	if st := w.Stats(); st.Healthy != 2 || st.ReadOnly {
		t.Fatalf("after one failure: %+v", st)
	}
	faults[2].FailRate(faultdev.OpFlush, 1)
	if _, err := w.Commit(context.Background(), txn(20)); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("commit with two mirrors failed: %v", err)
	}
	if _, err := w.Commit(context.Background(), txn(21)); !errors.Is(err, ErrReadOnly) || !strings.Contains(err.Error(), "1 of 3") {
		t.Fatalf("read-only: %v", err)
	}
	mu.Lock()
	kinds := map[EventKind]int{}
	for _, e := range events {
		kinds[e.Kind]++
	}
	mu.Unlock()
	if kinds[EventMirrorFailed] != 2 || kinds[EventReadOnly] != 1 {
		t.Fatalf("events %v", events)
	}
	// Every acknowledged transaction is on the surviving mirror.
	w.Close()
	faults[1].ClearFaults()
	faults[2].ClearFaults()
	_, lsns, _ := replayAll(t, Options{Mirrors: opts.Mirrors[:1]}, 0)
	if len(lsns) < 20 {
		t.Fatalf("replayed %d, want at least the 20 acknowledged", len(lsns))
	}
}

func TestBadCopyReadFromAnotherMirror(t *testing.T) {
	var mems []*memdev.Device
	var events []Event
	opts := Options{Mirrors: testMirrors(3, 4, 128<<10, func(m int, size int64) dev.Device {
		d := memdev.New(fmt.Sprintf("mem%d", m), size, 4096)
		mems = append(mems, d)
		return d
	}), Events: func(e Event) { events = append(events, e) }}
	w, err := Create(opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 30; i++ {
		if _, err := w.Commit(context.Background(), txn(i)); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	// Damage the first transaction on mirror 0 (segment 0 after Create's
	// invalidation is the first ring position used).
	b := mems[0].Bytes()
	idx := strings.Index(string(b), "txn 0 ")
	if idx < 0 {
		t.Fatal("txn 0 not found on mirror 0")
	}
	b[idx] ^= 0xff
	w2, lsns, txns := replayAll(t, opts, 0)
	defer w2.Close()
	if len(lsns) != 30 || string(txns[0]) != string(txn(0)) {
		t.Fatalf("replay around a bad copy: %d records, first %q", len(lsns), txns[0])
	}
	bad := 0
	for _, e := range events {
		if e.Kind == EventBadCopy && e.Mirror == "mirror0" {
			bad++
		}
	}
	if bad == 0 {
		t.Fatalf("no bad-copy event: %v", events)
	}
}

func TestTooLarge(t *testing.T) {
	w, err := Create(Options{Mirrors: memMirrors(2, 3, 64<<10)})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Commit(context.Background(), make([]byte, 64<<10)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("a transaction larger than a segment: %v", err)
	}
	if _, err := w.Commit(context.Background(), make([]byte, w.maxTxn)); err != nil {
		t.Fatalf("the largest transaction: %v", err)
	}
}

func TestLostJournalIsAnError(t *testing.T) {
	opts := Options{Mirrors: memMirrors(2, 3, 64<<10)}
	_, err := Open(opts, 42, func(LSN, []byte) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "missing or were wiped") {
		t.Fatalf("open of a blank ring with a checkpoint: %v", err)
	}
}
