package appliance

import (
	"bytes"
	"strings"
	"testing"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/faultdev"
)

// Found by the torture harness: one drive whose label could not be read
// (IO errors) kept the whole node from starting. It is now left out, as
// a pulled drive is, and the report says why.
func TestOpenNodeLeavesOutUnreadableDrive(t *testing.T) {
	paths := makeFiles(t, 3, 16<<20)
	if err := formatPaths(t, paths, FormatOptions{SegmentSize: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	open := func(path string) (dev.Device, error) {
		d, err := OpenDevice(path)
		if err != nil || path != paths[1] {
			return d, err
		}
		fd := faultdev.New(d, 1)
		fd.FailRate(faultdev.OpRead, 1)
		return fd, nil
	}
	n, err := OpenNodeWith(paths, NodeOptions{Open: open})
	if err != nil {
		t.Fatalf("open with an unreadable drive: %v", err)
	}
	if len(n.Drives) != 2 || len(n.Missing) != 1 || n.Missing[0] != 1 {
		t.Fatalf("drives %d, missing %v; want 2 drives, position 1 missing", len(n.Drives), n.Missing)
	}
	if len(n.Unreadable) != 1 || n.Unreadable[0].Path != paths[1] {
		t.Fatalf("unreadable %v", n.Unreadable)
	}
	var report bytes.Buffer
	n.WriteReport(&report)
	if !strings.Contains(report.String(), "UNREADABLE: "+paths[1]) {
		t.Fatalf("the report does not name the unreadable drive:\n%s", report.String())
	}
	// Every drive unreadable: an error that says so.
	all := func(path string) (dev.Device, error) {
		d, err := OpenDevice(path)
		if err != nil {
			return d, err
		}
		fd := faultdev.New(d, 1)
		fd.FailRate(faultdev.OpRead, 1)
		return fd, nil
	}
	n.Close()
	if _, err := OpenNodeWith(paths, NodeOptions{Open: all}); err == nil || !strings.Contains(err.Error(), "no drive could be read") {
		t.Fatalf("open with every drive unreadable: %v", err)
	}
}
