package faultdev

import (
	"bytes"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/io/dev"
)

func TestFailRange(t *testing.T) {
	m := newMemDev()
	d := New(m, 1)
	d.FailRange(OpWrite, 4*testBlock, 2*testBlock)

	mustWrite(t, d, fill(4, 'a'), 0) // ends where the range starts
	mustWrite(t, d, fill(2, 'b'), 6*testBlock)
	before := snapshot(m)
	for _, tc := range []struct {
		off    int64
		blocks int
	}{{4 * testBlock, 1}, {5 * testBlock, 1}, {3 * testBlock, 2}, {0, 8}} {
		_, err := d.WriteAt(fill(tc.blocks, 'x'), tc.off)
		if !errors.Is(err, syscall.EIO) || !errors.Is(err, dev.ErrIO) {
			t.Fatalf("write [%d, +%d blocks): err = %v, want EIO", tc.off, tc.blocks, err)
		}
		var oe *dev.OpError
		if !errors.As(err, &oe) || oe.Op != "write" || oe.Offset != tc.off {
			t.Fatalf("write at %d: err = %#v, want an *OpError for the write", tc.off, err)
		}
		for _, want := range []string{m.Path(), "write"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %q", err, want)
			}
		}
	}
	if !bytes.Equal(snapshot(m), before) {
		t.Fatal("a failed write changed the media")
	}
	_, err := d.WriteAt(fill(1, 'x'), 5*testBlock)
	if !strings.Contains(err.Error(), "20480") {
		t.Errorf("error %q does not give the offset 20480", err)
	}
	// Reads of the range are not affected.
	mustRead(t, d, 4*testBlock, 2)
	if got := d.Stats(); got.WriteErrors != 5 || got.ReadErrors != 0 {
		t.Fatalf("stats = %+v, want 5 write errors only", got)
	}
	if d.Ops() != 7 {
		t.Errorf("Ops() = %d, want 7 (failed writes count)", d.Ops())
	}

	d.ClearFaults()
	mustWrite(t, d, fill(2, 'c'), 4*testBlock)
}

func TestFailRangeEveryOp(t *testing.T) {
	m := newFlushCounter()
	d := New(m, 1)
	d.FailRange(OpRead, 0, testBlock)
	d.FailRange(OpFlush, 10*testBlock, testBlock) // a flush covers the device
	d.FailRange(OpDiscard, 8*testBlock, testBlock)

	if _, err := d.ReadAt(dev.AlignedBuffer(testBlock), 0); !errors.Is(err, syscall.EIO) {
		t.Errorf("read: err = %v, want EIO", err)
	}
	if err := d.Flush(); !errors.Is(err, syscall.EIO) {
		t.Errorf("flush: err = %v, want EIO", err)
	}
	if err := d.Discard(7*testBlock, 2*testBlock); !errors.Is(err, syscall.EIO) {
		t.Errorf("discard: err = %v, want EIO", err)
	}
	if err := d.Discard(0, testBlock); err != nil {
		t.Errorf("discard outside the range: %v", err)
	}
	mustWrite(t, d, fill(1, 'a'), 0)
	if m.flushes != 0 {
		t.Errorf("a failed flush reached the inner device")
	}
	want := Stats{ReadErrors: 1, FlushErrors: 1, DiscardErrors: 1}
	if got := d.Stats(); got != want {
		t.Errorf("stats = %+v, want %+v", got, want)
	}
}

func TestFailRate(t *testing.T) {
	const seed, n = 7, 2000
	d := New(newMemDev(), seed)
	d.FailRate(OpRead, 0.25)
	p := dev.AlignedBuffer(testBlock)
	failed := 0
	for range n {
		if _, err := d.ReadAt(p, 0); err != nil {
			if !errors.Is(err, syscall.EIO) {
				t.Fatalf("seed %d: err = %v, want EIO", seed, err)
			}
			failed++
		}
		mustWrite(t, d, p, 0) // writes are not affected
	}
	if failed < n/4-150 || failed > n/4+150 {
		t.Errorf("seed %d: %d of %d reads failed at rate 0.25", seed, failed, n)
	}
	if got := d.Stats(); got.ReadErrors != failed || got.WriteErrors != 0 {
		t.Errorf("seed %d: stats = %+v, want %d read errors", seed, got, failed)
	}

	d.FailRate(OpRead, 1)
	if _, err := d.ReadAt(p, 0); err == nil {
		t.Errorf("rate 1: read succeeded")
	}
	d.FailRate(OpRead, 0)
	mustRead(t, d, 0, 1)
}

func TestClearFaultsKeepsPower(t *testing.T) {
	d := New(newMemDev(), 1)
	d.FailRate(OpWrite, 1)
	d.TornWriteRate(1)
	d.MisdirectRate(1)
	d.FlipOnReadRate(1)
	d.Latency(OpRead, time.Hour, 0)
	d.FailRange(OpRead, 0, testSize)
	if err := d.PowerCut(CutDrop); err != nil {
		t.Fatal(err)
	}
	d.ClearFaults()
	if _, err := d.WriteAt(fill(1, 'a'), 0); !errors.Is(err, dev.ErrPowerCut) {
		t.Fatalf("after ClearFaults the cut device wrote: err = %v", err)
	}
	d.Restart()
	p := fill(2, 'a')
	mustWrite(t, d, p, 0)
	if got := mustRead(t, d, 0, 2); !bytes.Equal(got, p) {
		t.Fatal("faults still armed after ClearFaults")
	}
	if s := d.Stats(); s != (Stats{PowerCuts: 1}) {
		t.Fatalf("stats = %+v, want only the power cut", s)
	}
}

func TestLatency(t *testing.T) {
	d := New(newMemDev(), 3)
	const base, jitter = 20 * time.Millisecond, 10 * time.Millisecond
	d.Latency(OpRead, base, jitter)
	p := dev.AlignedBuffer(testBlock)
	for range 3 {
		start := time.Now()
		if _, err := d.ReadAt(p, 0); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el < base {
			t.Errorf("read took %v, want at least %v", el, base)
		}
	}
	mustWrite(t, d, p, 0)
	mustFlush(t, d)
	if s := d.Stats(); s != (Stats{Delays: 3}) {
		t.Errorf("stats = %+v, want 3 delays (reads only)", s)
	}
}

func TestValidationFirst(t *testing.T) {
	m := newMemDev()
	d := New(m, 1)
	d.FailRate(OpWrite, 1)
	d.FailRate(OpRead, 1)
	d.PowerCutAfter(0, CutDrop)

	odd := dev.AlignedBuffer(2 * testBlock)
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"write misaligned offset", second(d.WriteAt(odd[:testBlock], 512)), dev.ErrMisaligned},
		{"write short length", second(d.WriteAt(odd[:100], 0)), dev.ErrMisaligned},
		{"write unaligned buffer", second(d.WriteAt(odd[512:512+testBlock], 0)), dev.ErrMisaligned},
		{"write past the end", second(d.WriteAt(odd, testSize-testBlock)), dev.ErrOutOfRange},
		{"read misaligned", second(d.ReadAt(odd[:testBlock], 100)), dev.ErrMisaligned},
		{"discard misaligned", d.Discard(1, testBlock), dev.ErrMisaligned},
		{"discard past the end", d.Discard(0, testSize+testBlock), dev.ErrOutOfRange},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, tc.err, tc.want)
		}
		var oe *dev.OpError
		if !errors.As(tc.err, &oe) || oe.Path != m.Path() {
			t.Errorf("%s: err = %v, want an *OpError naming %s", tc.name, tc.err, m.Path())
		}
	}
	if d.Ops() != 0 || d.Stats() != (Stats{}) {
		t.Fatalf("invalid requests counted: ops %d, stats %+v", d.Ops(), d.Stats())
	}
	// The armed cut is still waiting for the first valid mutating op.
	if _, err := d.WriteAt(odd, 0); !errors.Is(err, dev.ErrPowerCut) {
		t.Fatalf("first valid write: err = %v, want ErrPowerCut", err)
	}
}

func second[T any](_ T, err error) error { return err }

func TestBadInputDoesNotPanic(t *testing.T) {
	d := New(newMemDev(), 1)
	d.FailRange(Op(200), 0, 1)
	d.FailRange(OpRead, 1<<62, 1<<62)
	d.FailRange(OpRead, 0, -5)
	d.FailRate(Op(200), 1)
	d.Latency(Op(200), time.Second, time.Second)
	d.Latency(OpRead, -time.Second, -time.Second)
	d.PowerCutAfter(-3, CutMode(9))
	d.CorruptAt(-1)
	d.CorruptAt(testSize)
	if err := d.PowerCut(CutMode(9)); err == nil {
		t.Error("PowerCut with an unknown mode succeeded")
	}
	mustRead(t, d, 0, 1)
	if _, err := d.WriteAt(fill(1, 'a'), 0); !errors.Is(err, dev.ErrPowerCut) {
		t.Errorf("PowerCutAfter(-3): err = %v, want ErrPowerCut on the next write", err)
	}
	if s := d.Stats(); s.Corruptions != 0 || s.Delays != 0 {
		t.Errorf("stats = %+v", s)
	}
}
