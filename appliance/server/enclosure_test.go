package server

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-storage/plinth/appliance/console"
)

// TestSysEnclosures: a drive that is a disk in an enclosure's slot gets
// that slot and its locate LED; an emulated drive (a file) is in none.
func TestSysEnclosures(t *testing.T) {
	sys := t.TempDir()
	comp := filepath.Join(sys, "class/enclosure/0:0:1:0/Slot 07")
	for _, d := range []string{filepath.Join(comp, "device/block/sdb")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range map[string]string{
		"class/enclosure/0:0:1:0/id": "0x500c0ff0abcdef3c\n", "class/enclosure/0:0:1:0/Slot 07/slot": "7\n",
		"class/enclosure/0:0:1:0/Slot 07/locate": "0\n", "class/enclosure/0:0:1:0/Slot 07/fault": "0\n",
	} {
		if err := os.WriteFile(filepath.Join(sys, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e := newSysEnclosures(sys)
	e.diskOf = func(path string) (string, bool) {
		return map[string]string{"/dev/disk/by-id/wwn-1": "sdb", "/dev/sdc": "sdc"}[path], strings.HasPrefix(path, "/dev/")
	}
	sl, ok := e.Slot(console.DriveRef{Position: 3, Path: "/dev/disk/by-id/wwn-1"})
	if !ok || sl.Enclosure != "0x500c0ff0abcdef3c" || sl.Slot != 7 || sl.Name != "Slot 07" || sl.Label != "0x500c0ff0abcdef3c/7" {
		t.Fatalf("slot: %+v %v", sl, ok)
	}
	if err := e.Locate(console.DriveRef{Position: 3, Path: "/dev/disk/by-id/wwn-1"}, true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(comp, "locate")); string(b) != "1\n" {
		t.Fatalf("locate LED file holds %q", b)
	}
	for _, path := range []string{"/dev/sdc", "/var/lib/plinth/drives/drive-0.zdev"} {
		if _, ok := e.Slot(console.DriveRef{Path: path}); ok {
			t.Errorf("%s has a slot", path)
		}
		if err := e.Locate(console.DriveRef{Path: path}, true); !errors.Is(err, console.ErrNoEnclosure) {
			t.Errorf("%s: locate: %v", path, err)
		}
	}
}
