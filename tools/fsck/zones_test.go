package fsck

import (
	"errors"
	"strings"
	"testing"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/datalog"
	"github.com/plinth-storage/plinth/io/zonemu"
	"github.com/plinth-storage/plinth/pool"
)

// newZonedNode is newNode on six emulated host-managed SMR drives of
// 1 MiB zones: data segments are zones, whose write pointers the cross
// phase compares with the allocator.
func newZonedNode(t *testing.T) *testNode {
	t.Helper()
	cfg := appliance.DefaultDriveConfig()
	cfg.ZoneSize, cfg.ZoneCapacity, cfg.NrZones = 1<<20, 1<<20, 48
	paths, _, err := appliance.EnsureDefault(t.TempDir(), appliance.DefaultOptions{Drives: testDrives, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	n := &testNode{t: t, paths: paths, data: map[string][]byte{}}
	n.run(func(p *pool.Pool) {
		for i := range 8 {
			owner := "o/zoned/obj-" + string(rune('a'+i))
			b := []byte(strings.Repeat(owner, 20000))
			if _, err := p.Put(ctx, []byte(owner), 1, strings.NewReader(string(b))); err != nil {
				t.Fatal(err)
			}
			n.data[owner] = b
		}
	}, nil)
	return n
}

// The cross phase compares every zoned member's write pointer with its
// set's frontier: clean on a clean node; a zone that lost the stripes the
// allocator says were written (reset behind Plinth's back, its header
// written again) is one error naming the set, member and drive.
func TestZoneWritePointersAgainstAllocator(t *testing.T) {
	n := newZonedNode(t)
	r := n.check(false)
	if r.ExitCode != ExitClean || len(r.Findings) != 0 {
		t.Fatalf("clean zoned node: exit %d, findings %+v", r.ExitCode, r.Findings)
	}
	var summary string
	for _, ph := range r.Phases {
		if ph.Phase == PhaseCross {
			summary = ph.Checked
		}
	}
	if !strings.Contains(summary, "write pointers of") {
		t.Fatalf("the cross phase did not compare write pointers: %q", summary)
	}

	var drive int
	var start int64
	var set uint64
	n.inspect(func(_ *appliance.Node, _ *store.Store, p *pool.Pool) {
		s := firstSet(t, p)
		if s.Frontier == 0 {
			t.Fatalf("set %d holds nothing", s.ID)
		}
		m := s.Members[1]
		info, err := p.DescribeSegment(m.Drive, m.Segment)
		if err != nil {
			t.Fatal(err)
		}
		if info.WritePointer == nil || *info.WritePointer == 0 {
			t.Fatalf("member 1 of set %d: %+v: not a written zone", s.ID, info)
		}
		drive, start, set = int(m.Drive), info.ByteOffset, uint64(s.ID)
	})
	z, err := zonemu.OpenFile(n.paths[drive])
	if err != nil {
		t.Fatal(err)
	}
	header := make([]byte, datalog.BlockSize)
	if _, err := z.ReadAt(header, start); err != nil {
		t.Fatal(err)
	}
	if err := z.ResetZone(start); err != nil {
		t.Fatal(err)
	}
	if _, err := z.WriteAt(header, start); err != nil {
		t.Fatal(err)
	}
	if err := z.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}

	f := oneError(t, n.check(false), PhaseCross)
	if f.Where.Set != set || f.Where.Member == nil || *f.Where.Member != 1 || f.Where.Position == nil || *f.Where.Position != drive {
		t.Fatalf("finding names the wrong place: %+v (want set %d member 1 drive %d)", f.Where, set, drive)
	}
	if !strings.Contains(f.What, "write pointer") || !strings.Contains(f.What, "not on the drive") || f.Fix == "" {
		t.Fatalf("finding %+v", f)
	}
}

// datalog's check refuses a set it cannot make sense of, rather than
// reporting it clean.
func TestCheckWritePointersInvalidSet(t *testing.T) {
	n, problems, err := datalog.CheckWritePointers(datalog.Set{}, 0)
	if err == nil || problems != nil || n != 0 {
		t.Fatalf("a set without a layout: compared %d, problems %v, err %v", n, problems, err)
	}
	if !errors.Is(err, datalog.ErrSet) {
		t.Fatalf("err %v, want datalog.ErrSet", err)
	}
}
