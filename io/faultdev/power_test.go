package faultdev

import (
	"bytes"
	"errors"
	"testing"

	"github.com/plinth-storage/plinth/io/dev"
)

func TestPowerCutDrop(t *testing.T) {
	m := newFlushCounter()
	d := New(m, 1)
	mustWrite(t, d, fill(4, 'a'), 0)
	mustWrite(t, d, fill(2, 'b'), 10*testBlock)
	mustFlush(t, d)
	flushed := snapshot(m.Device)

	mustWrite(t, d, fill(4, 'c'), 2*testBlock)                 // overlaps flushed data
	mustWrite(t, d, fill(2, 'd'), 3*testBlock)                 // overlaps the unflushed write
	mustWrite(t, d, fill(1, 'e'), 30*testBlock)                // fresh block
	if err := d.Discard(10*testBlock, testBlock); err != nil { // discard of flushed data
		t.Fatal(err)
	}
	if err := d.PowerCut(CutDrop); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(snapshot(m.Device), flushed) {
		t.Fatal("CutDrop did not leave exactly the flushed state")
	}
	if m.flushes != 2 {
		t.Errorf("inner flushed %d times, want 2 (the Flush and the cut)", m.flushes)
	}
	if s := d.Stats(); s != (Stats{PowerCuts: 1}) {
		t.Errorf("stats = %+v", s)
	}
}

func TestPowerCutTear(t *testing.T) {
	const blocks = 6
	var sawOld, sawNew [blocks]bool
	for seed := uint64(0); seed < 40; seed++ {
		m := newMemDev()
		d := New(m, seed)
		old := fill(blocks, 'a')
		mustWrite(t, d, old, 0)
		mustFlush(t, d)
		before := snapshot(m)
		p := fill(blocks, 'A')
		mustWrite(t, d, p, 0)
		if err := d.PowerCut(CutTear); err != nil {
			t.Fatal(err)
		}
		after := snapshot(m)
		for b := range testSize / testBlock {
			got := blockOf(after, b)
			switch {
			case b >= blocks:
				if !bytes.Equal(got, blockOf(before, b)) {
					t.Fatalf("seed %d: block %d, never written, changed", seed, b)
				}
			case bytes.Equal(got, blockOf(old, b)):
				sawOld[b] = true
			case bytes.Equal(got, blockOf(p, b)):
				sawNew[b] = true
			default:
				t.Fatalf("seed %d: block %d is neither old nor new", seed, b)
			}
		}
	}
	for b := range blocks {
		if !sawOld[b] || !sawNew[b] {
			t.Errorf("over 40 seeds block %d: old seen %v, new seen %v; want both", b, sawOld[b], sawNew[b])
		}
	}
}

func TestPowerCutRefusesUntilRestart(t *testing.T) {
	m := newMemDev()
	d := New(m, 1)
	p := fill(2, 'a')
	mustWrite(t, d, p, 0)
	mustFlush(t, d)
	mustWrite(t, d, fill(2, 'b'), 0)
	if err := d.PowerCut(CutDrop); err != nil {
		t.Fatal(err)
	}
	buf := dev.AlignedBuffer(testBlock)
	for name, err := range map[string]error{
		"read":    second(d.ReadAt(buf, 0)),
		"write":   second(d.WriteAt(buf, 0)),
		"flush":   d.Flush(),
		"discard": d.Discard(0, testBlock),
	} {
		if !errors.Is(err, dev.ErrPowerCut) {
			t.Errorf("%s after the cut: err = %v, want ErrPowerCut", name, err)
		}
	}
	if d.Ops() != 3 {
		t.Errorf("Ops() = %d, want 3: refused ops are not performed", d.Ops())
	}
	if err := d.PowerCut(CutTear); err != nil {
		t.Errorf("cutting a cut device: %v", err)
	}
	d.Restart()
	if got := mustRead(t, d, 0, 2); !bytes.Equal(got, p) {
		t.Fatal("after Restart the media does not hold the flushed data")
	}
	mustWrite(t, d, fill(1, 'c'), 0)
	mustFlush(t, d)
}

func TestPowerCutAfter(t *testing.T) {
	m := newMemDev()
	d := New(m, 1)
	mustWrite(t, d, fill(1, 'a'), 0)
	d.PowerCutAfter(2, CutDrop)
	mustWrite(t, d, fill(1, 'b'), testBlock)
	mustFlush(t, d)
	flushed := snapshot(m)
	_, err := d.WriteAt(fill(1, 'c'), 2*testBlock)
	if !errors.Is(err, dev.ErrPowerCut) {
		t.Fatalf("third op after arming: err = %v, want ErrPowerCut", err)
	}
	if !bytes.Equal(snapshot(m), flushed) {
		t.Fatal("the op the cut replaced reached the media")
	}
	if d.Ops() != 3 {
		t.Errorf("Ops() = %d, want 3", d.Ops())
	}
	d.Restart()
	mustWrite(t, d, fill(1, 'c'), 2*testBlock) // the armed cut fired once
}

func TestCloseClosesInner(t *testing.T) {
	m := newMemDev()
	d := New(m, 1)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.ReadAt(dev.AlignedBuffer(testBlock), 0); !errors.Is(err, dev.ErrClosed) {
		t.Fatalf("Close did not close the inner device: inner read err = %v, want ErrClosed", err)
	}
	if _, err := d.WriteAt(fill(1, 'a'), 0); !errors.Is(err, dev.ErrClosed) {
		t.Errorf("write after Close: err = %v, want ErrClosed", err)
	}
	if err := d.Close(); !errors.Is(err, dev.ErrClosed) {
		t.Errorf("second Close: err = %v, want ErrClosed", err)
	}
}
