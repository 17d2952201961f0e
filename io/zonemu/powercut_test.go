package zonemu

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/faultdev"
)

// cutStack is emulator -> faultdev -> testDev.
func cutStack(t *testing.T, cfg Config, seed uint64) (*Device, *faultdev.Device) {
	t.Helper()
	fd := faultdev.New(newMem(cfg, cfg.LogicalBlockSize), seed)
	d, err := Create(fd, cfg)
	if err != nil {
		t.Fatalf("Create over faultdev: %v", err)
	}
	return d, fd
}

func TestPowerCutRollsBackToFlush(t *testing.T) {
	for _, mode := range []faultdev.CutMode{faultdev.CutDrop, faultdev.CutTear} {
		t.Run(mode.String(), func(t *testing.T) {
			for seed := range uint64(20) {
				d, fd := cutStack(t, smallCfg(), seed)
				a := mustWrite(t, d, zstart(3), 3*tLBS, 1)
				b := mustWrite(t, d, zstart(4), tZone, 2) // full
				mustOK(t, d.Flush())
				mustWrite(t, d, zstart(3)+3*tLBS, 2*tLBS, 3)
				mustWrite(t, d, zstart(5), tLBS, 4)
				mustOK(t, fd.PowerCut(mode))
				_, err := d.WriteAt(pattern(tLBS, 5), zstart(5)+tLBS)
				wantErr(t, err, dev.ErrPowerCut)
				fd.Restart()
				d2, err := Open(fd)
				if err != nil {
					t.Fatalf("seed %d: Open after the cut: %v", seed, err)
				}
				wantZone(t, d2, 3, dev.ZoneCondClosed, 3*tLBS)
				wantZone(t, d2, 4, dev.ZoneCondFull, -1)
				wantZone(t, d2, 5, dev.ZoneCondEmpty, 0)
				wantData(t, d2, zstart(3), a)
				wantZeros(t, d2, zstart(3)+3*tLBS, tZone-3*tLBS)
				wantData(t, d2, zstart(4), b)
				wantZeros(t, d2, zstart(5), tZone)
			}
		})
	}
}

// stateSig describes what survives a power cycle, for every sequential
// zone: the condition after the cycle, the write pointer and a hash of the
// data up to it.
func stateSig(t *testing.T, d *Device) (string, error) {
	t.Helper()
	var sb strings.Builder
	for z := d.cfg.NrConventional; z < d.cfg.NrZones; z++ {
		d.mu.Lock()
		s := d.zones[z]
		d.mu.Unlock()
		cond := s.cond
		if cond.IsActive() {
			cond = dev.ZoneCondClosed
			if s.wp == 0 {
				cond = dev.ZoneCondEmpty
			}
		}
		h := fnv.New64a()
		if s.wp > 0 && cond != dev.ZoneCondOffline {
			p := dev.AlignedBuffer(int(s.wp))
			if _, err := d.ReadAt(p, int64(z)*d.cfg.ZoneSize); err != nil {
				return "", err
			}
			h.Write(p)
		}
		fmt.Fprintf(&sb, "z%d:%v+%d#%x ", z, cond, s.wp, h.Sum64())
	}
	return sb.String(), nil
}

func mustSig(t *testing.T, d *Device) string {
	t.Helper()
	s, err := stateSig(t, d)
	mustOK(t, err)
	return s
}

// cutWorkload runs a workload drawn from seed until it is done or the
// power is cut. It returns the state signatures after each operation
// (sigs[0] is the state before the first), the index of the last state made
// durable by a Flush or zone command that returned nil, and whether it was
// cut. Operations that fail for other reasons (limits) are part of the
// workload: they fail the same way on every run.
func cutWorkload(t *testing.T, d *Device, seed uint64, steps int) (sigs []string, durable int, cut bool) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 2))
	sigs = []string{mustSig(t, d)}
	for step := range steps {
		z := d.cfg.NrConventional + rng.IntN(d.cfg.NrZones-d.cfg.NrConventional)
		start := int64(z) * d.cfg.ZoneSize
		var err error
		durablePoint := true
		switch op := rng.IntN(20); {
		case op < 11:
			durablePoint = false
			r := zone(t, d, z)
			n := tLBS * (1 + rng.IntN(3))
			off := r.WritePointer
			if r.Cond == dev.ZoneCondFull {
				off = r.Start // fails: full
			} else if off+int64(n) > r.Start+r.Capacity {
				n = tLBS
			}
			_, err = d.WriteAt(pattern(n, byte(step)), off)
			if errors.Is(err, dev.ErrZoneFull) {
				err = nil
			}
		case op < 12:
			durablePoint = false
			_, err = d.WriteAt(pattern(tLBS, byte(step)), int64(rng.IntN(d.cfg.NrConventional))*d.cfg.ZoneSize)
		case op < 14:
			err = d.ResetZone(start)
		case op < 15:
			err = d.FinishZone(start)
		case op < 16:
			err = d.OpenZone(start)
		case op < 17:
			err = d.CloseZone(start)
		default:
			err = d.Flush()
		}
		if errors.Is(err, dev.ErrPowerCut) {
			return sigs, durable, true
		}
		sig, serr := stateSig(t, d)
		if errors.Is(serr, dev.ErrPowerCut) {
			// The cut hit a discard the operation does not report
			// (space reclamation after a reset).
			return sigs, durable, true
		}
		mustOK(t, serr)
		sigs = append(sigs, sig)
		if err == nil && durablePoint {
			durable = len(sigs) - 1
		}
		if err != nil && !errors.Is(err, dev.ErrZoneOp) && !errors.Is(err, dev.ErrTooManyOpenZones) && !errors.Is(err, dev.ErrTooManyActiveZones) {
			t.Fatalf("seed %d: step %d: %v", seed, step, err)
		}
	}
	return sigs, durable, false
}

// TestPowerCutSweep cuts the power before every mutating operation a
// workload sends to the backing device, in both cut modes, and checks that
// the device always reopens in a state the workload passed through at or
// after its last completed Flush or zone command.
func TestPowerCutSweep(t *testing.T) {
	cfgs := []Config{
		{ZoneSize: tZone, ZoneCapacity: 12 * tLBS, NrZones: 6, NrConventional: 1, MaxOpenZones: 2, MaxActiveZones: 3, LogicalBlockSize: tLBS, Behavior: BehaviorSMR},
		{ZoneSize: 8 * tLBS, ZoneCapacity: 8 * tLBS, NrZones: 5, NrConventional: 1, MaxOpenZones: 2, LogicalBlockSize: tLBS, Behavior: BehaviorZNS},
	}
	for _, seed := range testSeeds(t, 3) {
		for ci, cfg := range cfgs {
			t.Run(fmt.Sprintf("seed=%d/cfg=%d", seed, ci), func(t *testing.T) {
				const steps = 60
				d, fd := cutStack(t, cfg, seed)
				before := fd.Ops()
				ref, _, _ := cutWorkload(t, d, seed, steps)
				total := fd.Ops() - before
				for _, mode := range []faultdev.CutMode{faultdev.CutDrop, faultdev.CutTear} {
					for at := 0; at < total; at++ {
						d, fd := cutStack(t, cfg, seed^uint64(at)<<20)
						fd.PowerCutAfter(at, mode)
						sigs, durable, cut := cutWorkload(t, d, seed, steps)
						if !cut {
							t.Fatalf("seed %d %v cut after %d ops: the workload finished", seed, mode, at)
						}
						if !slices.Equal(sigs, ref[:len(sigs)]) {
							t.Fatalf("seed %d: the cut run diverged from the reference run before the cut", seed)
						}
						fd.Restart()
						d2, err := Open(fd)
						if err != nil {
							t.Fatalf("seed %d %v cut after %d ops: Open: %v", seed, mode, at, err)
						}
						got := mustSig(t, d2)
						// States from the last durable one up to the one
						// the interrupted operation would have produced.
						allowed := ref[durable:min(len(sigs)+1, len(ref))]
						if !slices.Contains(allowed, got) {
							t.Fatalf("seed %d (replay with ZONEMU_SEED=%d) %v cut after %d ops (op %d of the workload): reopened as\n  %s\nwant one of (from the last durable state on)\n  %s",
								seed, seed, mode, at, len(sigs), got, strings.Join(allowed, "\n  "))
						}
						// And it works.
						for z := cfg.NrConventional; z < cfg.NrZones; z++ {
							mustOK(t, d2.ResetZone(int64(z)*cfg.ZoneSize))
						}
						mustWrite(t, d2, int64(cfg.NrConventional)*cfg.ZoneSize, tLBS, 7)
						mustOK(t, d2.Flush())
					}
				}
			})
		}
	}
}

// TestPowerCutDuringReformat cuts the power before every operation of a
// Create over an older format: the device then holds the old format, no
// format, or the new one, never a mix.
func TestPowerCutDuringReformat(t *testing.T) {
	old := smallCfg()
	neu := smallCfg()
	neu.Behavior, neu.MaxOpenZones = BehaviorZNS, 2
	for _, mode := range []faultdev.CutMode{faultdev.CutDrop, faultdev.CutTear} {
		for at := 0; ; at++ {
			mem := newMem(old, tLBS)
			fd := faultdev.New(mem, uint64(at))
			d, err := Create(fd, old)
			mustOK(t, err)
			a := mustWrite(t, d, zstart(3), 2*tLBS, 1)
			mustOK(t, d.Flush())
			fd.PowerCutAfter(at, mode)
			if _, err := Create(fd, neu); err == nil {
				break // Create finished before the cut
			}
			fd.Restart()
			d2, err := Open(fd)
			switch {
			case errors.Is(err, ErrNotFormatted):
			case err != nil:
				t.Fatalf("%v cut after %d ops of Create: Open: %v", mode, at, err)
			case d2.Config() == old:
				wantZone(t, d2, 3, dev.ZoneCondClosed, 2*tLBS)
				wantData(t, d2, zstart(3), a)
			case d2.Config() == neu:
				wantZone(t, d2, 3, dev.ZoneCondEmpty, 0)
			default:
				t.Fatalf("%v cut after %d ops of Create: config %+v", mode, at, d2.Config())
			}
		}
	}
}
