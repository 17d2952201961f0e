package superblock

import (
	"strings"
	"testing"

	"github.com/plinth-storage/plinth/io/memdev"
)

// A metadata mirror's label carries its journal and metadata ranges and
// the checkpoint pointer through updates and a reopen.
func TestMetaAndCheckpointRoundTrip(t *testing.T) {
	d := memdev.New("mem0", 64<<20, 4096)
	l := testLabel(0)
	l.SegmentSize = 4 << 20
	l.Meta = Meta{RingFirst: 0, RingCount: 2, SegFirst: 2, SegCount: 4}
	lg, err := Format(d, l)
	if err != nil {
		t.Fatal(err)
	}
	if !lg.Label().Meta.Holds() || lg.Label().Checkpoint.Gen != 0 {
		t.Fatalf("formatted label %+v", lg.Label())
	}
	up := lg.Label()
	up.Checkpoint = Checkpoint{Gen: 7, LSN: 1234, Set: 3, Len: 512, Off: 8192, Sum: 0xfeedface}
	if err := lg.Update(up); err != nil {
		t.Fatal(err)
	}
	got, err := Open(d.Reopen())
	if err != nil {
		t.Fatal(err)
	}
	if got.Label() != up {
		t.Fatalf("reopened %+v\nwant %+v", got.Label(), up)
	}

	moved := up
	moved.Meta.SegCount = 3
	if err := got.Update(moved); err == nil || !strings.Contains(err.Error(), "metadata ranges") {
		t.Fatalf("changing the metadata ranges: %v", err)
	}
}

func TestMetaValidation(t *testing.T) {
	base := testLabel(0)
	base.LogicalBlockSize, base.DeviceSize, base.SegmentSize = 4096, 64<<20, 4<<20
	base.AreaLen, base.Area = 1<<20, [2]int64{0, 1 << 20}
	base.FirstSegment, base.NrSegments = 2<<20, 15
	if err := base.validate(); err != nil {
		t.Fatalf("base label: %v", err)
	}
	for name, c := range map[string]struct {
		meta Meta
		cp   Checkpoint
		want string
	}{
		"beyond":        {Meta{RingFirst: 14, RingCount: 2, SegFirst: 0, SegCount: 2}, Checkpoint{}, "beyond"},
		"overlap":       {Meta{RingFirst: 0, RingCount: 3, SegFirst: 2, SegCount: 2}, Checkpoint{}, "overlap"},
		"ring only":     {Meta{RingFirst: 0, RingCount: 3}, Checkpoint{}, "with 0 metadata segments"},
		"no gen":        {Meta{RingCount: 2, SegFirst: 2, SegCount: 2}, Checkpoint{LSN: 5}, "without a generation"},
		"no meta":       {Meta{}, Checkpoint{Gen: 1, Len: 100}, "without metadata segments"},
		"set outside":   {Meta{RingCount: 2, SegFirst: 2, SegCount: 2}, Checkpoint{Gen: 1, Set: 2, Len: 100}, "outside"},
		"record beyond": {Meta{RingCount: 2, SegFirst: 2, SegCount: 2}, Checkpoint{Gen: 1, Set: 1, Off: 4<<20 - 50, Len: 100}, "outside"},
	} {
		l := base
		l.Meta, l.Checkpoint = c.meta, c.cp
		if err := l.validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", name, err, c.want)
		}
	}
}
