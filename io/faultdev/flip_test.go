package faultdev

import (
	"bytes"
	"testing"
)

func TestFlipOnRead(t *testing.T) {
	for seed := uint64(0); seed < 20; seed++ {
		m := newMemDev()
		d := New(m, seed)
		p := fill(4, 'a')
		mustWrite(t, d, p, 0)
		before := snapshot(m)

		d.FlipOnReadRate(1)
		got := mustRead(t, d, 0, 4)
		if bits, _ := bitDiff(got, p); bits != 1 {
			t.Fatalf("seed %d: read differs in %d bits, want 1", seed, bits)
		}
		if !bytes.Equal(snapshot(m), before) {
			t.Fatalf("seed %d: a read flip changed the media", seed)
		}
		d.FlipOnReadRate(0)
		if got := mustRead(t, d, 0, 4); !bytes.Equal(got, p) {
			t.Fatalf("seed %d: clean read differs", seed)
		}
		if s := d.Stats(); s != (Stats{ReadFlips: 1}) {
			t.Fatalf("seed %d: stats = %+v", seed, s)
		}
	}
}

func TestCorruptAt(t *testing.T) {
	const off = 3*testBlock + 1234
	m := newMemDev()
	d := New(m, 5)
	p := fill(8, 'a')
	mustWrite(t, d, p, 0)
	mustFlush(t, d)
	d.CorruptAt(off)
	bits, first := bitDiff(snapshot(m)[:len(p)], p)
	if bits != 1 || first != off {
		t.Fatalf("seed 5: media differs in %d bits from byte %d, want 1 bit at %d", bits, first, off)
	}
	got := mustRead(t, d, 0, 8)
	if bits, first := bitDiff(got, p); bits != 1 || first != off {
		t.Fatalf("seed 5: read differs in %d bits from byte %d, want 1 bit at %d", bits, first, off)
	}
	if s := d.Stats(); s != (Stats{Corruptions: 1}) {
		t.Fatalf("stats = %+v", s)
	}
}

// A flip at rest survives a power cut that undoes a later, unflushed write
// of the same block.
func TestCorruptAtSurvivesPowerCut(t *testing.T) {
	const off = 2*testBlock + 7
	m := newMemDev()
	d := New(m, 9)
	p := fill(4, 'a')
	mustWrite(t, d, p, 0)
	mustFlush(t, d)
	mustWrite(t, d, fill(4, 'z'), 0) // unflushed
	d.CorruptAt(off)
	if err := d.PowerCut(CutDrop); err != nil {
		t.Fatal(err)
	}
	d.Restart()
	got := mustRead(t, d, 0, 4)
	if bits, first := bitDiff(got, p); bits != 1 || first != off {
		t.Fatalf("seed 9: after the cut the media differs from the flushed data in %d bits from byte %d, want 1 bit at %d", bits, first, off)
	}
}
