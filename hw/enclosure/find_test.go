package enclosure_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-storage/plinth/hw/enclosure"
	fx "github.com/plinth-storage/plinth/hw/enclosure/enclosuretest"
)

// Find takes a disk, ENCLOSURE/SLOT or ENCLOSURE/DRAWER/SLOT, and refuses
// what matches nothing or more than one slot, saying why.
func TestFind(t *testing.T) {
	encls := scan(t, sharedMachine(t))
	dev := t.TempDir()
	if err := os.WriteFile(filepath.Join(dev, "sdd"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	byID := filepath.Join(dev, "wwn-0x5000c500deadbeef")
	if err := os.Symlink("sdd", byID); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		target, encl string
		drawer       int
		number       int
	}{
		{"sdb", "0x500c0ff0abcdef3c", 0, 1},
		{"/dev/sdj", "0x500c0ff0abcdef3c", 0, 9},
		{byID, "0x500c0ff0abcdef3c", 0, 3},                     // a link resolved to its disk
		{"0x500C0FF0ABCDEF3C/11", "0x500c0ff0abcdef3c", 0, 11}, // an empty bay, case ignored
		{fx.ID5U84 + "/45", fx.ID5U84, 2, 45},
		{"0x5000c500a1b2/50", fx.ID5U84, 2, 50}, // a unique prefix
		{fx.ID5U84 + "/1/10", fx.ID5U84, 1, 10},
		{fx.DiskB(40), fx.ID5U84, 1, 40}, // the second path's name for a drive both see
	} {
		e, s, err := enclosure.Find(encls, c.target)
		if err != nil {
			t.Errorf("Find(%s): %v", c.target, err)
			continue
		}
		if e.ID != c.encl || s.Drawer != c.drawer || s.Number != c.number {
			t.Errorf("Find(%s) = %s drawer %d slot %d, want %s drawer %d slot %d", c.target, e.ID, s.Drawer, s.Number, c.encl, c.drawer, c.number)
		}
	}
	for target, want := range map[string]string{
		"":                            "empty target",
		"sdzz":                        "disk sdzz is in no enclosure slot",
		"0x5000c500a1b2c3d4/84":       "has no slot 84",
		fx.ID5U84 + "/2/3":            "has no slot 3 in drawer 2",
		"0x99/1":                      "no enclosure 0x99 (there are",
		"0x50/1":                      "is the start of several enclosures' IDs",
		fx.ID5U84 + "/x":              `slot "x" is not a number`,
		fx.ID5U84 + "/a/1":            `drawer "a" is not a number`,
		"a/b/c/d":                     "want a disk, ENCLOSURE/SLOT",
		"0x500c0ff0abcdef3c/-1":       `slot "-1" is not a number`,
		"0x500c0ff0abcdef3c/0x1":      `slot "0x1" is not a number`,
		filepath.Join(dev, "missing"): "is in no enclosure slot",
	} {
		_, _, err := enclosure.Find(encls, target)
		if !errors.Is(err, enclosure.ErrNoSlot) || !strings.Contains(err.Error(), want) {
			t.Errorf("Find(%q) = %v, want ErrNoSlot saying %q", target, err, want)
		}
	}
	if _, _, err := enclosure.Find(nil, "0x5000c500a1b2c3d4/1"); err == nil || !strings.Contains(err.Error(), "shows no enclosures") {
		t.Errorf("no enclosures: %v", err)
	}
}

// Slot numbers that restart in every drawer need the drawer.
func TestFindNeedsTheDrawer(t *testing.T) {
	e := enclosure.Enclosure{ID: "0x5000ccab0400ab3c", Drawers: 2, Slots: []enclosure.Slot{
		{Number: 5, Drawer: 1, Name: "Drawer 0 Slot 05"}, {Number: 5, Drawer: 2, Name: "Drawer 1 Slot 05"},
	}}
	_, _, err := enclosure.Find([]enclosure.Enclosure{e}, e.ID+"/5")
	if !errors.Is(err, enclosure.ErrNoSlot) || !strings.Contains(err.Error(), "0x5000ccab0400ab3c/1/5, 0x5000ccab0400ab3c/2/5") {
		t.Fatalf("ambiguous slot: %v", err)
	}
	_, s, err := enclosure.Find([]enclosure.Enclosure{e}, e.ID+"/2/5")
	if err != nil || s.Name != "Drawer 1 Slot 05" {
		t.Fatalf("with the drawer: %+v %v", s, err)
	}
}
