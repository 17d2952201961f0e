package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	fx "github.com/plinth-storage/plinth/hw/enclosure/enclosuretest"
)

// plinth enclosures lists every slot of a 5U84 seen through two paths as
// one enclosure, turns LEDs on and off by disk and by ENCLOSURE/SLOT
// (reading them back), and refuses bad targets with the reason.
func TestEnclosuresCommand(t *testing.T) {
	root := t.TempDir()
	a, b := fx.The5U84()
	fx.Build(t, root, fx.JBOD12(), a, b)

	code, out, errOut := run(t, "enclosures", "--sysfs", root)
	if code != 0 {
		t.Fatalf("list: exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"enclosure 0x500c0ff0abcdef3c: DELL MD1400, 12 slots, 1 path(s)",
		"enclosure " + fx.ID5U84 + ": SEAGATE 5U84, 84 slots in 2 drawers, 2 path(s): 1:0:100:0, 2:0:100:0",
		"DRAWER  SLOT  NAME",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the listing lacks %q:\n%s", want, out)
		}
	}
	if !regexpLine(out, `^-\s+3\s+Slot 03\s+sdd\s+critical\s+on\s+off$`) || !regexpLine(out, `^2\s+83\s+ArrayDevice83\s+-\s+not installed\s+off\s+off$`) ||
		!regexpLine(out, fmt.Sprintf(`^1\s+40\s+ArrayDevice40\s+%s,%s\s+OK\s+off\s+off$`, fx.DiskA(40), fx.DiskB(40))) {
		t.Errorf("slot rows are wrong:\n%s", out)
	}

	code, out, errOut = run(t, "enclosures", "--sysfs", root, "locate", "on", fx.DiskB(60))
	if code != 0 || !strings.Contains(out, fmt.Sprintf("locate LED of slot 60 (ArrayDevice60) in drawer 2 of enclosure %s, holding %s: on", fx.ID5U84, fx.DiskB(60))) {
		t.Fatalf("locate on: exit %d\n%s%s", code, out, errOut)
	}
	if got := fx.ReadFile(t, filepath.Join(fx.CompDir(root, a, "ArrayDevice60"), "locate")); got != "1\n" {
		t.Errorf("the first path's locate file holds %q", got)
	}
	code, out, errOut = run(t, "enclosures", "--sysfs", root, "--json", "fault", "on", fx.ID5U84+"/83")
	var res struct {
		Enclosure, Name, Disk, LED string
		Slot, Drawer               int
		On                         bool
	}
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Slot != 83 || res.Drawer != 2 || res.Disk != "" || res.LED != "fault" || !res.On {
		t.Fatalf("fault on an empty bay: exit %d %+v\n%s%s", code, res, out, errOut)
	}
	code, out, _ = run(t, "enclosures", "--sysfs", root, "--json")
	var encls []struct {
		ID    string
		Slots []struct {
			Slot          int
			Fault, Locate bool
			Status        string
		}
	}
	if code != 0 || json.Unmarshal([]byte(out), &encls) != nil || len(encls) != 2 || len(encls[1].Slots) != 84 {
		t.Fatalf("JSON listing: exit %d\n%s", code, out)
	}
	if s := encls[1].Slots[60]; s.Slot != 60 || !s.Locate || s.Fault {
		t.Errorf("slot 60 after locate on: %+v", s)
	}
	if s := encls[1].Slots[83]; !s.Fault || s.Status != "not installed" {
		t.Errorf("slot 83 after fault on: %+v", s)
	}
	code, out, _ = run(t, "enclosures", "--sysfs", root, "locate", "off", "0x5000c500a1b2/60")
	if code != 0 || !strings.HasSuffix(out, ": off\n") || fx.ReadFile(t, filepath.Join(fx.CompDir(root, a, "ArrayDevice60"), "locate")) != "0\n" {
		t.Fatalf("locate off: exit %d\n%s", code, out)
	}

	// An element without that LED takes the write and keeps nothing: the
	// read back says so.
	stuck := filepath.Join(fx.CompDir(root, fx.JBOD12(), "Slot 07"), "locate")
	if err := os.Remove(stuck); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/null", stuck); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = run(t, "enclosures", "--sysfs", root, "locate", "on", "sdh")
	if code == 0 || !strings.Contains(errOut, "locate LED of slot 7 (Slot 07) of enclosure 0x500c0ff0abcdef3c, holding sdh: wrote on, but the enclosure reports it off") {
		t.Errorf("an LED that does not stay on: exit %d\n%s", code, errOut)
	}
	for args, want := range map[string]string{
		"blink on sdb":                    `"blink": the LEDs are locate and fault`,
		"locate maybe sdb":                `"maybe": want on or off`,
		"locate on sdzz":                  "disk sdzz is in no enclosure slot",
		"locate on 0x5000c500a1b2c3d4/84": "has no slot 84",
		"locate on":                       "want no arguments (list), or locate|fault on|off",
	} {
		code, _, errOut := run(t, append([]string{"enclosures", "--sysfs", root}, strings.Fields(args)...)...)
		if code == 0 || !strings.Contains(errOut, want) {
			t.Errorf("%s: exit %d, want an error saying %q:\n%s", args, code, want, errOut)
		}
	}
	if code, _, errOut := run(t, "enclosures", "--sysfs", filepath.Join(root, "nope")); code != 1 || !strings.Contains(errOut, "sysfs root: stat "+root+"/nope: no such file") {
		t.Errorf("a sysfs root that is not there: exit %d\n%s", code, errOut)
	}
	empty := t.TempDir()
	code, out, _ = run(t, "enclosures", "--sysfs", empty)
	if code != 0 || !strings.Contains(out, "no enclosures under "+empty+"/class/enclosure") {
		t.Errorf("a machine without enclosures: exit %d\n%s", code, out)
	}
}

// regexpLine reports whether a line of out matches the pattern.
func regexpLine(out, pattern string) bool {
	return regexp.MustCompile("(?m)" + pattern).MatchString(out)
}
