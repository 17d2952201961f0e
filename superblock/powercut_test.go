package superblock

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/faultdev"
	"github.com/plinth-storage/plinth/io/memdev"
	"github.com/plinth-storage/plinth/io/zonemu"
)

// stack is a drive under test with a fault injector somewhere below the
// label log: open returns the device the log uses (reopening whatever sits
// above the injector after a power cut).
type stack struct {
	name   string
	fault  *faultdev.Device
	open   func(fresh bool) (dev.Device, error)
	update int // updates in the workload: enough to cross at least one area switch
	// sweep says whether to cut before op k of total (nil: every op).
	sweep func(k, total int) bool
}

func conventionalStack(seed uint64) *stack {
	fd := faultdev.New(memdev.New("mem", 8<<20, 4096), seed)
	return &stack{
		name:   "conventional",
		fault:  fd,
		open:   func(bool) (dev.Device, error) { return fd, nil },
		update: AreaMax/SlotSize + 3,
		// 256 appends of one shape lie between the format and the area
		// switch: cut at every op of the format, the first updates and
		// the updates around the switch (the last 12 ops), and at every
		// 17th op in between.
		sweep: func(k, total int) bool { return k < 24 || k > total-12 || k%17 == 0 },
	}
}

// zonedStack is an emulated zoned drive whose media sits on the fault
// injector, so a cut also catches the emulator's own zone-state writes.
func zonedStack(name string, cfg zonemu.Config) func(uint64) *stack {
	return func(seed uint64) *stack {
		fd := faultdev.New(memdev.New("mem", int64(cfg.NrZones)*cfg.ZoneSize+zonemu.MetadataSize(cfg), 4096), seed)
		st := &stack{
			name:  name,
			fault: fd,
			open: func(fresh bool) (dev.Device, error) {
				if fresh {
					return zonemu.Create(fd, cfg)
				}
				return zonemu.Open(fd)
			},
			update: int(2*min(cfg.ZoneCapacity, AreaMax)/SlotSize) + 3,
		}
		if cfg.ZoneCapacity > AreaMax {
			st.sweep = func(k, total int) bool {
				return k < 24 || k > total-40 || k%17 == 0 || (k > total/2-20 && k < total/2+20)
			}
		}
		return st
	}
}

var (
	smrSequentialAreas = zonemu.Config{ZoneSize: 64 << 10, ZoneCapacity: 64 << 10, NrZones: 6,
		MaxOpenZones: 2, LogicalBlockSize: 4096, Behavior: zonemu.BehaviorSMR}
	smrConventionalAreas = zonemu.Config{ZoneSize: 64 << 10, ZoneCapacity: 64 << 10, NrZones: 6, NrConventional: 2,
		MaxOpenZones: 2, LogicalBlockSize: 4096, Behavior: zonemu.BehaviorSMR}
	// Zones larger than an area: the full area is still active (closed)
	// when the log switches, and the drive allows one active zone.
	znsLargeZones = zonemu.Config{ZoneSize: 2 << 20, ZoneCapacity: 3 << 19, NrZones: 4,
		MaxOpenZones: 1, MaxActiveZones: 1, LogicalBlockSize: 4096, Behavior: zonemu.BehaviorZNS}
	znsSmallCapacity = zonemu.Config{ZoneSize: 64 << 10, ZoneCapacity: 40 << 10, NrZones: 6,
		MaxOpenZones: 1, MaxActiveZones: 1, LogicalBlockSize: 4096, Behavior: zonemu.BehaviorZNS}
)

// labelFor is the label the workload writes with sequence seq: every
// sequence has a distinct creation time, so a reader can tell them apart.
func labelFor(base Label, seq uint64) Label {
	base.Created = time.Unix(1_800_000_000+int64(seq), 0).UTC()
	base.Position = uint32(seq % 6)
	return base
}

// workload formats and updates the label, returning the highest sequence
// that was acknowledged (0 if not even the format was) and the label base.
func workload(d dev.Device, updates int) (acked uint64, base Label, err error) {
	base = testLabel(0)
	if d.Geometry().Zoned == dev.ZoneModelNone {
		base.SegmentSize = 1 << 20
	}
	lg, err := Format(d, labelFor(base, 1))
	if err != nil {
		return 0, base, err
	}
	acked = 1
	base = lg.Label()
	for seq := uint64(2); seq <= uint64(updates)+1; seq++ {
		if err := lg.Update(labelFor(base, seq)); err != nil {
			return acked, base, err
		}
		acked = seq
	}
	return acked, base, nil
}

// TestPowerCutAtEveryPoint cuts power before every mutating device
// operation of a format followed by updates across an area switch, in both
// cut modes, and checks that the label read afterwards is the newest
// acknowledged one or the one in flight, never older, never damaged, and
// that the log keeps working.
func TestPowerCutAtEveryPoint(t *testing.T) {
	stacks := []func(uint64) *stack{
		conventionalStack,
		zonedStack("smr-sequential-areas", smrSequentialAreas),
		zonedStack("smr-conventional-areas", smrConventionalAreas),
		zonedStack("zns-capacity-below-size", znsSmallCapacity),
	}
	if !testing.Short() {
		// 256 records per area: the slowest sweep (minutes under -race).
		stacks = append(stacks, zonedStack("zns-zone-larger-than-area", znsLargeZones))
	}
	for _, mk := range stacks {
		for _, mode := range []faultdev.CutMode{faultdev.CutDrop, faultdev.CutTear} {
			probe := mk(1)
			d, err := probe.open(true)
			if err != nil {
				t.Fatal(err)
			}
			before := probe.fault.Ops()
			if _, _, err := workload(d, probe.update); err != nil {
				t.Fatal(err)
			}
			total := probe.fault.Ops() - before
			t.Run(fmt.Sprintf("%s/mode%d", probe.name, mode), func(t *testing.T) {
				for k := 0; k <= total; k++ {
					if probe.sweep != nil && !probe.sweep(k, total) {
						continue
					}
					seed := uint64(k)*7919 + uint64(mode)
					if err := cutAt(mk(seed), k, mode); err != nil {
						t.Fatalf("power cut before op %d of %d (seed %d): %v", k, total, seed, err)
					}
				}
			})
		}
	}
}

func cutAt(s *stack, k int, mode faultdev.CutMode) error {
	d, err := s.open(true)
	if err != nil {
		return err
	}
	s.fault.PowerCutAfter(k, mode)
	acked, base, werr := workload(d, s.update)
	if werr == nil {
		return nil // k is past the end of the workload
	}
	if !errors.Is(werr, dev.ErrPowerCut) {
		return fmt.Errorf("workload failed with something other than the cut: %w", werr)
	}
	s.fault.Restart()
	d, err = s.open(false)
	if err != nil {
		if acked == 0 {
			return nil // the format itself was cut; the drive may be unusable
		}
		return fmt.Errorf("reopen after the cut: %w", err)
	}
	lg, err := Open(d)
	if acked == 0 {
		if err != nil && !errors.Is(err, ErrNoLabel) {
			return fmt.Errorf("cut during format: want a label or ErrNoLabel, got %w", err)
		}
		if err != nil {
			return nil
		}
	} else if err != nil {
		return fmt.Errorf("label lost after %d acknowledged records: %w", acked, err)
	}
	got := lg.Seq()
	if got != acked && got != acked+1 {
		return fmt.Errorf("read sequence %d; acknowledged %d", got, acked)
	}
	if want := labelFor(base, got); got > 1 && lg.Label() != want {
		return fmt.Errorf("sequence %d carries %+v, want %+v", got, lg.Label(), want)
	}
	// The log must go on working from wherever the cut left it.
	next := labelFor(lg.Label(), got+1)
	if err := lg.Update(next); err != nil {
		return fmt.Errorf("update after recovery: %w", err)
	}
	if err := lg.Check(); err != nil {
		return err
	}
	re, err := Open(d)
	if err != nil || re.Seq() != got+1 || re.Label() != next {
		return fmt.Errorf("after recovery and one update: seq %v err %v", re, err)
	}
	return nil
}
