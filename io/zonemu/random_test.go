package zonemu

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/io/dev"
)

// testSeeds returns the seeds of a randomized test: ZONEMU_SEED alone when
// set (to replay a failure), otherwise n seeds from the clock.
func testSeeds(t *testing.T, n int) []uint64 {
	if s := os.Getenv("ZONEMU_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 0, 64)
		if err != nil {
			t.Fatalf("ZONEMU_SEED=%q: %v", s, err)
		}
		return []uint64{seed}
	}
	if testing.Short() {
		n = max(1, n/10)
	}
	base := uint64(time.Now().UnixNano())
	seeds := make([]uint64, n)
	for i := range seeds {
		seeds[i] = base + uint64(i)
	}
	return seeds
}

// model is what the emulator must show: the bytes written to each
// sequential zone (its write pointer is their length) and the conventional
// zones' contents; persisted is the model as of the last persist.
type model struct {
	data      [][]byte
	persisted [][]byte
}

func (m *model) persist() {
	m.persisted = make([][]byte, len(m.data))
	for i, b := range m.data {
		m.persisted[i] = append([]byte(nil), b...)
	}
}

func TestRandomized(t *testing.T) {
	for _, seed := range testSeeds(t, 25) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			randomRun(t, seed, 400)
		})
	}
}

func randomRun(t *testing.T, seed uint64, steps int) {
	rng := rand.New(rand.NewPCG(seed, 1))
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d (replay with ZONEMU_SEED=%d): %s", seed, seed, fmt.Sprintf(format, args...))
	}
	lbs := []int{512, 4096}[rng.IntN(2)]
	zsz := int64(lbs) * int64(4+rng.IntN(8))
	cfg := Config{
		ZoneSize: zsz, ZoneCapacity: zsz - int64(lbs)*int64(rng.IntN(3)),
		NrZones: 8, NrConventional: rng.IntN(3), LogicalBlockSize: lbs,
		Behavior: Behavior(rng.IntN(2)), MaxOpenZones: rng.IntN(4),
	}
	if rng.IntN(2) == 0 {
		cfg.MaxActiveZones = cfg.MaxOpenZones + rng.IntN(3)
	}
	mem := newMem(cfg, lbs)
	d, err := Create(mem, cfg)
	if err != nil {
		fail("Create(%+v): %v", cfg, err)
	}
	md := &model{data: make([][]byte, cfg.NrZones)}
	for z := range cfg.NrConventional {
		md.data[z] = make([]byte, zsz)
	}
	md.persist()
	start := func(z int) int64 { return int64(z) * zsz }
	report := func() []dev.Zone {
		zs, err := d.ReportZones(0, 0)
		if err != nil {
			fail("ReportZones: %v", err)
		}
		return zs
	}
	check := func(step int, what string) {
		zs := report()
		open, active, imp := 0, 0, 0
		for z, r := range zs {
			if r.Cond.IsOpen() {
				open++
			}
			if r.Cond.IsActive() {
				active++
			}
			if r.Cond == dev.ZoneCondImpOpen {
				imp++
			}
			if z >= cfg.NrConventional && r.Cond != dev.ZoneCondFull && r.WritePointer-r.Start != int64(len(md.data[z])) {
				fail("step %d (%s): zone %d %v, model has %d bytes", step, what, z, r, len(md.data[z]))
			}
			if r.Cond == dev.ZoneCondEmpty && len(md.data[z]) != 0 {
				fail("step %d (%s): zone %d empty, model has %d bytes", step, what, z, len(md.data[z]))
			}
		}
		if cfg.MaxOpenZones > 0 && open > cfg.MaxOpenZones || cfg.MaxActiveZones > 0 && active > cfg.MaxActiveZones {
			fail("step %d (%s): %d open, %d active, limits %d/%d", step, what, open, active, cfg.MaxOpenZones, cfg.MaxActiveZones)
		}
		if open != d.nrOpen || active != d.nrActive || imp != len(d.impOpen) {
			fail("step %d (%s): counters %d/%d/%d, report %d/%d/%d", step, what, d.nrOpen, d.nrActive, len(d.impOpen), open, active, imp)
		}
		// Read everything back.
		got := dev.AlignedBuffer(int(d.geo.Size))
		if _, err := d.ReadAt(got, 0); err != nil {
			fail("step %d (%s): read: %v", step, what, err)
		}
		for z := range cfg.NrZones {
			want := make([]byte, zsz)
			copy(want, md.data[z])
			if !bytes.Equal(got[start(z):start(z)+zsz], want) {
				fail("step %d (%s): zone %d reads differently from the model", step, what, z)
			}
		}
	}
	for step := range steps {
		zs := report()
		z := rng.IntN(cfg.NrZones)
		r := zs[z]
		var what string
		switch op := rng.IntN(20); {
		case op < 10: // write, mostly at the write pointer
			n := lbs * (1 + rng.IntN(4))
			off := min(r.Start+int64(len(md.data[z])), r.Start+zsz-int64(lbs))
			if z < cfg.NrConventional {
				off = r.Start + int64(lbs*rng.IntN(int(zsz)/lbs))
				n = min(n, int(d.geo.Size-off))
			} else if rng.IntN(8) == 0 {
				off = r.Start + int64(lbs*rng.IntN(int(zsz)/lbs))
				n = min(n, int(d.geo.Size-off))
			}
			what = fmt.Sprintf("write %d at %d (zone %d %v)", n, off, z, r)
			p := pattern(n, byte(step))
			_, err := d.WriteAt(p, off)
			expectWrite(fail, step, what, cfg, zs, z, off, int64(n), err)
			if err == nil {
				if z < cfg.NrConventional {
					for i := 0; i < n; {
						zz := int((off + int64(i)) / zsz)
						c := copy(md.data[zz][off+int64(i)-start(zz):], p[i:])
						i += c
					}
				} else {
					md.data[z] = append(md.data[z], p...)
				}
			}
		case op < 12:
			what = fmt.Sprintf("reset zone %d %v", z, r)
			if err := d.ResetZone(r.Start); err == nil {
				md.data[z] = nil
				md.persist()
			} else if z >= cfg.NrConventional {
				fail("step %d: %s: %v", step, what, err)
			}
		case op < 14:
			what = fmt.Sprintf("open zone %d %v", z, r)
			if err := d.OpenZone(r.Start); err == nil {
				md.persist()
			} else if z >= cfg.NrConventional && r.Cond != dev.ZoneCondFull && !errors.Is(err, dev.ErrTooManyOpenZones) && !errors.Is(err, dev.ErrTooManyActiveZones) {
				fail("step %d: %s: %v", step, what, err)
			}
		case op < 16:
			what = fmt.Sprintf("close zone %d %v", z, r)
			if err := d.CloseZone(r.Start); err == nil {
				md.persist()
			} else if r.Cond.IsOpen() {
				fail("step %d: %s: %v", step, what, err)
			}
		case op < 17:
			what = fmt.Sprintf("finish zone %d %v", z, r)
			if err := d.FinishZone(r.Start); err == nil {
				md.persist()
			} else if r.Cond.IsOpen() || r.Cond == dev.ZoneCondFull {
				fail("step %d: %s: %v", step, what, err)
			}
		case op < 19:
			what = "flush"
			if err := d.Flush(); err != nil {
				fail("step %d: flush: %v", step, err)
			}
			md.persist()
		default:
			what = "power cycle"
			d, mem = reopen(t, mem)
			for z := cfg.NrConventional; z < cfg.NrZones; z++ {
				md.data[z] = append([]byte(nil), md.persisted[z]...)
			}
			for _, r := range report() {
				if r.Cond.IsOpen() {
					fail("step %d: zone %v open after a power cycle", step, r)
				}
			}
		}
		check(step, what)
	}
}

// expectWrite checks a write's outcome against the zone report taken
// before it.
func expectWrite(fail func(string, ...any), step int, what string, cfg Config, zs []dev.Zone, z int, off, n int64, err error) {
	r := zs[z]
	want := func(target error) {
		if !errors.Is(err, target) {
			fail("step %d: %s: got %v, want %v", step, what, err, target)
		}
	}
	if off+n > int64(cfg.NrZones)*cfg.ZoneSize {
		want(dev.ErrOutOfRange)
		return
	}
	if z < cfg.NrConventional {
		if off+n > int64(cfg.NrConventional)*cfg.ZoneSize {
			want(dev.ErrOutOfRange)
		} else if err != nil {
			fail("step %d: %s: %v", step, what, err)
		}
		return
	}
	switch {
	case r.Cond == dev.ZoneCondFull || off+n > r.Start+r.Capacity:
		want(dev.ErrZoneFull)
		return
	case off != r.WritePointer:
		want(dev.ErrNotAtWritePointer)
		return
	case r.Cond.IsOpen():
		if err != nil {
			fail("step %d: %s: %v", step, what, err)
		}
		return
	}
	open, active, imp := 0, 0, 0
	for _, r := range zs {
		if r.Cond.IsOpen() {
			open++
		}
		if r.Cond.IsActive() {
			active++
		}
		if r.Cond == dev.ZoneCondImpOpen {
			imp++
		}
	}
	switch {
	case r.Cond == dev.ZoneCondEmpty && cfg.MaxActiveZones > 0 && active >= cfg.MaxActiveZones:
		want(dev.ErrTooManyActiveZones)
	case cfg.MaxOpenZones > 0 && open >= cfg.MaxOpenZones && (cfg.Behavior == BehaviorZNS || imp == 0):
		want(dev.ErrTooManyOpenZones)
	case err != nil:
		fail("step %d: %s: %v", step, what, err)
	}
}
