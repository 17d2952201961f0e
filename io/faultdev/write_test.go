package faultdev

import (
	"bytes"
	"testing"
)

func TestTornWrite(t *testing.T) {
	const blocks, at = 8, 10
	sawNew := make([]bool, blocks)
	for seed := uint64(0); seed < 50; seed++ {
		m := newMemDev()
		d := New(m, seed)
		old := fill(blocks+2, 'a')
		mustWrite(t, d, old, (at-1)*testBlock)
		mustFlush(t, d)
		before := snapshot(m)

		d.TornWriteRate(1)
		p := fill(blocks, 'A')
		mustWrite(t, d, p, at*testBlock)
		after := snapshot(m)

		landed := 0
		for b := range testSize / testBlock {
			got, was := blockOf(after, b), blockOf(before, b)
			if b < at || b >= at+blocks {
				if !bytes.Equal(got, was) {
					t.Fatalf("seed %d: block %d outside the write changed", seed, b)
				}
				continue
			}
			switch {
			case bytes.Equal(got, blockOf(p, b-at)):
				landed++
				sawNew[b-at] = true
			case !bytes.Equal(got, was):
				t.Fatalf("seed %d: block %d is neither old nor new", seed, b)
			}
		}
		if landed == blocks {
			t.Fatalf("seed %d: torn write landed whole", seed)
		}
		if s := d.Stats(); s != (Stats{TornWrites: 1}) {
			t.Fatalf("seed %d: stats = %+v", seed, s)
		}
		// The blocks that landed are in the undo log: a cut takes them back.
		if err := d.PowerCut(CutDrop); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(snapshot(m), before) {
			t.Fatalf("seed %d: power cut did not undo the torn write", seed)
		}
	}
	for b, ok := range sawNew {
		if !ok {
			t.Errorf("over 50 seeds block %d of a torn write never landed", b)
		}
	}
}

func TestTornSingleBlock(t *testing.T) {
	m := newMemDev()
	d := New(m, 1)
	d.TornWriteRate(1)
	mustWrite(t, d, fill(1, 'A'), 0)
	if !bytes.Equal(snapshot(m), make([]byte, testSize)) {
		t.Fatal("a torn single-block write landed")
	}
}

func TestMisdirectedWrite(t *testing.T) {
	const blocks, at = 3, 20
	targets := map[int]bool{}
	for seed := uint64(0); seed < 50; seed++ {
		m := newMemDev()
		d := New(m, seed)
		old := fill(testSize/testBlock, 1) // every block distinct
		mustWrite(t, d, old, 0)
		mustFlush(t, d)
		before := snapshot(m)

		d.MisdirectRate(1)
		p := fill(blocks, 200)
		mustWrite(t, d, p, at*testBlock)
		after := snapshot(m)

		if !bytes.Equal(after[at*testBlock:(at+blocks)*testBlock], before[at*testBlock:(at+blocks)*testBlock]) {
			t.Fatalf("seed %d: the intended location changed", seed)
		}
		target := bytes.Index(after, p)
		if target < 0 || target%testBlock != 0 {
			t.Fatalf("seed %d: the write landed nowhere block-aligned (index %d)", seed, target)
		}
		if target+len(p) > at*testBlock && target < (at+blocks)*testBlock {
			t.Fatalf("seed %d: misdirected to %d, overlapping the intended range", seed, target)
		}
		targets[target] = true
		copy(after[target:], before[target:target+len(p)])
		if !bytes.Equal(after, before) {
			t.Fatalf("seed %d: the write changed more than its target", seed)
		}
		if s := d.Stats(); s != (Stats{MisdirectedWrites: 1}) {
			t.Fatalf("seed %d: stats = %+v", seed, s)
		}
		if err := d.PowerCut(CutDrop); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(snapshot(m), before) {
			t.Fatalf("seed %d: power cut did not undo the misdirected write", seed)
		}
	}
	if len(targets) < 10 {
		t.Errorf("50 seeds misdirected to only %d places", len(targets))
	}
}

func TestMisdirectNowhereElse(t *testing.T) {
	m := newMemDev()
	d := New(m, 1)
	d.MisdirectRate(1)
	p := fill(testSize/testBlock, 3)
	mustWrite(t, d, p, 0)
	if !bytes.Equal(snapshot(m), p) || d.Stats().MisdirectedWrites != 0 {
		t.Fatal("a write covering the whole device was misdirected")
	}
}
