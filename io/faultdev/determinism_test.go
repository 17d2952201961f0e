package faultdev

import (
	"bytes"
	"errors"
	"hash/fnv"
	"math/rand/v2"
	"testing"

	"github.com/plinth-storage/plinth/io/dev"
)

// outcome is everything a run can observe.
type outcome struct {
	media []byte
	stats Stats
	ops   int
	trace uint64 // hash of every read's data and every error's text
}

// chaos runs a fixed random workload (the workload's own randomness is fixed)
// against a device with every fault armed, seeded with seed.
func chaos(t *testing.T, seed uint64) outcome {
	t.Helper()
	m := newMemDev()
	d := New(m, seed)
	for op := range numOps {
		d.FailRate(op, 0.05)
	}
	d.TornWriteRate(0.2)
	d.MisdirectRate(0.1)
	d.FlipOnReadRate(0.2)
	d.PowerCutAfter(40, CutTear)

	h := fnv.New64a()
	note := func(err error) {
		if err != nil {
			h.Write([]byte(err.Error()))
		}
	}
	work := rand.New(rand.NewPCG(42, 42))
	for i := range 300 {
		blocks := 1 + work.IntN(4)
		off := int64(work.IntN(testSize/testBlock-blocks)) * testBlock
		switch k := work.IntN(10); {
		case k < 5:
			_, err := d.WriteAt(fill(blocks, byte(i)), off)
			note(err)
		case k < 7:
			p := dev.AlignedBuffer(blocks * testBlock)
			_, err := d.ReadAt(p, off)
			note(err)
			h.Write(p)
		case k < 8:
			note(d.Flush())
		case k < 9:
			note(d.Discard(off, int64(blocks)*testBlock))
		default:
			d.CorruptAt(off + int64(work.IntN(blocks*testBlock)))
		}
		if i%50 == 49 {
			d.Restart()
			d.PowerCutAfter(work.IntN(20), CutMode(work.IntN(2)))
		}
	}
	d.Restart()
	if err := d.PowerCut(CutTear); err != nil && !errors.Is(err, dev.ErrPowerCut) {
		t.Fatalf("seed %d: %v", seed, err)
	}
	return outcome{media: snapshot(m), stats: d.Stats(), ops: d.Ops(), trace: h.Sum64()}
}

func TestDeterminism(t *testing.T) {
	for _, seed := range []uint64{0, 1, 0xdeadbeef} {
		a, b := chaos(t, seed), chaos(t, seed)
		if !bytes.Equal(a.media, b.media) || a.stats != b.stats || a.ops != b.ops || a.trace != b.trace {
			t.Fatalf("seed %d: two runs differ: stats %+v vs %+v, ops %d vs %d", seed, a.stats, b.stats, a.ops, b.ops)
		}
		s := a.stats
		if s.ReadErrors+s.WriteErrors == 0 || s.TornWrites == 0 || s.MisdirectedWrites == 0 ||
			s.ReadFlips == 0 || s.Corruptions == 0 || s.PowerCuts < 2 {
			t.Errorf("seed %d: some fault never fired: %+v", seed, s)
		}
		c := chaos(t, seed+1)
		if bytes.Equal(a.media, c.media) && a.stats == c.stats && a.trace == c.trace {
			t.Errorf("seeds %d and %d gave identical runs", seed, seed+1)
		}
	}
}
