package superblock

import (
	"errors"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/faultdev"
	"github.com/plinth-storage/plinth/io/memdev"
)

// Found by the torture harness (seed 8): a drive whose one label area
// could not be read refused to open although the other area held the
// label, and so the whole node refused to start.
func TestOpenWithOneAreaUnreadable(t *testing.T) {
	for area := range 2 {
		fd := faultdev.New(memdev.New("mem", 8<<20, 4096), 1)
		l := testLabel(0)
		l.SegmentSize = 1 << 20
		lg, err := Format(fd, l)
		if err != nil {
			t.Fatal(err)
		}
		// A few updates so that both areas hold records.
		for range AreaMax/SlotSize + 2 {
			next := lg.Label()
			next.Created = next.Created.Add(time.Second)
			if err := lg.Update(next); err != nil {
				t.Fatal(err)
			}
		}
		offs, maxLen := areaPlace(fd.Geometry())
		fd.FailRange(faultdev.OpRead, offs[area], maxLen)
		lg2, err := Open(fd)
		if err != nil {
			t.Fatalf("area %d unreadable: %v", area, err)
		}
		if lg2.Label().Node != l.Node {
			t.Fatalf("area %d unreadable: opened label of node %v, want %v", area, lg2.Label().Node, l.Node)
		}
		found := false
		for _, d := range lg2.Damage() {
			found = found || d.Area == area && errors.Is(d.Err, dev.ErrIO)
		}
		if !found {
			t.Errorf("area %d unreadable: damage %v does not say so", area, lg2.Damage())
		}
		// Both unreadable: an IO error, not "no label".
		fd.FailRange(faultdev.OpRead, offs[1-area], maxLen)
		if _, err := Open(fd); !errors.Is(err, dev.ErrIO) || errors.Is(err, ErrNoLabel) {
			t.Fatalf("both areas unreadable: got %v, want an IO error", err)
		}
	}
}

// Found by the torture harness (seeds 1363, 1528): a new drive's label is
// in area 0 only; with area 0 unreadable the error said "damaged label",
// so the node refused to start instead of leaving the failing drive out.
func TestOpenFreshLabelAreaUnreadableIsIOError(t *testing.T) {
	fd := faultdev.New(memdev.New("mem", 8<<20, 4096), 1)
	l := testLabel(0)
	l.SegmentSize = 1 << 20
	if _, err := Format(fd, l); err != nil {
		t.Fatal(err)
	}
	offs, maxLen := areaPlace(fd.Geometry())
	fd.FailRange(faultdev.OpRead, offs[0], maxLen)
	_, err := Open(fd)
	if !errors.Is(err, dev.ErrIO) || errors.Is(err, ErrDamaged) || errors.Is(err, ErrNoLabel) {
		t.Fatalf("area 0 unreadable, area 1 empty: got %v, want an IO error", err)
	}
}
