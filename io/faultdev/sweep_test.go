package faultdev

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/plinth-storage/plinth/io/dev"
)

// step is one operation of a scripted workload, in blocks.
type step struct {
	op     Op // OpWrite, OpFlush or OpDiscard
	block  int
	blocks int
	tag    byte
}

// sweepScript overlaps flushed data, unflushed data and discards.
var sweepScript = []step{
	{op: OpWrite, block: 0, blocks: 4, tag: 10},
	{op: OpWrite, block: 8, blocks: 2, tag: 20},
	{op: OpFlush},
	{op: OpWrite, block: 2, blocks: 4, tag: 30},
	{op: OpWrite, block: 4, blocks: 1, tag: 40},
	{op: OpDiscard, block: 8, blocks: 1},
	{op: OpFlush},
	{op: OpWrite, block: 12, blocks: 3, tag: 50},
	{op: OpWrite, block: 0, blocks: 1, tag: 60},
	{op: OpDiscard, block: 13, blocks: 2},
	{op: OpWrite, block: 14, blocks: 2, tag: 70},
}

const initialTag = 100 // the media starts with block b filled with initialTag+b

func (s step) run(d dev.Device) error {
	switch s.op {
	case OpWrite:
		_, err := d.WriteAt(fill(s.blocks, s.tag), int64(s.block)*testBlock)
		return err
	case OpFlush:
		return d.Flush()
	case OpDiscard:
		return d.Discard(int64(s.block)*testBlock, int64(s.blocks)*testBlock)
	}
	return fmt.Errorf("unknown step %v", s.op)
}

// apply applies s to a model of the media (memdev discards to zeros).
func (s step) apply(media []byte) {
	switch s.op {
	case OpWrite:
		copy(media[s.block*testBlock:], fill(s.blocks, s.tag))
	case OpDiscard:
		clear(media[s.block*testBlock : (s.block+s.blocks)*testBlock])
	}
}

// expectAfterCut returns, for a cut replacing step cut of script, the media
// the last completed flush left and, per block, every content an unflushed
// step before the cut gave it.
func expectAfterCut(script []step, cut int) (durable []byte, later map[int][][]byte) {
	media := fill(testSize/testBlock, initialTag)
	durable = bytes.Clone(media)
	later = map[int][][]byte{}
	for _, s := range script[:cut] {
		s.apply(media)
		switch s.op {
		case OpFlush:
			durable = bytes.Clone(media)
			later = map[int][][]byte{}
		default:
			for b := s.block; b < s.block+s.blocks; b++ {
				later[b] = append(later[b], bytes.Clone(blockOf(media, b)))
			}
		}
	}
	return durable, later
}

// TestPowerCutAfterSweep cuts the power at every point of a scripted
// workload. CutDrop must leave exactly the flushed prefix; CutTear the
// flushed prefix plus, per block, some later write of that block.
func TestPowerCutAfterSweep(t *testing.T) {
	// The script's mutating ops are all its steps.
	probe := New(newMemDev(), 0)
	for _, s := range sweepScript {
		if err := s.run(probe); err != nil {
			t.Fatal(err)
		}
	}
	n := probe.Ops()
	if n != len(sweepScript) {
		t.Fatalf("Ops() = %d after %d steps", n, len(sweepScript))
	}

	tornSurvivors := 0
	for _, mode := range []CutMode{CutDrop, CutTear} {
		for seed := uint64(0); seed < 8; seed++ {
			for cut := 0; cut <= n; cut++ {
				m := newMemDev()
				copy(m.Bytes(), fill(testSize/testBlock, initialTag))
				d := New(m, seed)
				d.PowerCutAfter(cut, mode)
				for k, s := range sweepScript {
					err := s.run(d)
					if k < cut && err != nil {
						t.Fatalf("seed %d, %v cut at %d: step %d failed before the cut: %v", seed, mode, cut, k, err)
					}
					if k >= cut && !errors.Is(err, dev.ErrPowerCut) {
						t.Fatalf("seed %d, %v cut at %d: step %d: err = %v, want ErrPowerCut", seed, mode, cut, k, err)
					}
				}
				if cut == n {
					if err := d.PowerCut(mode); err != nil {
						t.Fatal(err)
					}
				}
				d.Restart()
				got := mustRead(t, d, 0, testSize/testBlock)

				durable, later := expectAfterCut(sweepScript, cut)
				if mode == CutDrop {
					if !bytes.Equal(got, durable) {
						t.Fatalf("seed %d, drop cut at %d: media is not the flushed prefix", seed, cut)
					}
					continue
				}
				for b := range testSize / testBlock {
					gb := blockOf(got, b)
					if bytes.Equal(gb, blockOf(durable, b)) {
						continue
					}
					found := false
					for _, v := range later[b] {
						found = found || bytes.Equal(gb, v)
					}
					if !found {
						t.Fatalf("seed %d, tear cut at %d: block %d holds neither its flushed content nor a later write's", seed, cut, b)
					}
					tornSurvivors++
				}
			}
		}
	}
	if tornSurvivors == 0 {
		t.Error("no unflushed block ever survived a CutTear")
	}
}
