package initd

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeSysBlock makes a /sys/class/block with links as the kernel makes
// them: vdc (a disk), sda and its partition sda2.
func fakeSysBlock(t *testing.T) (sysClassBlock, devDir string) {
	t.Helper()
	root := t.TempDir()
	sysClassBlock = filepath.Join(root, "sys/class/block")
	devices := filepath.Join(root, "sys/devices/pci0000:00")
	devDir = filepath.Join(root, "dev")
	for _, d := range []string{
		sysClassBlock, devDir, filepath.Join(devDir, "disk/by-label"),
		filepath.Join(devices, "virtio2/block/vdc"), filepath.Join(devices, "ata1/block/sda/sda2"),
	} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(devices, "ata1/block/sda/sda2/partition"), []byte("2\n"), 0o644))
	must(os.Symlink("../../devices/pci0000:00/virtio2/block/vdc", filepath.Join(sysClassBlock, "vdc")))
	must(os.Symlink("../../devices/pci0000:00/ata1/block/sda", filepath.Join(sysClassBlock, "sda")))
	must(os.Symlink("../../devices/pci0000:00/ata1/block/sda/sda2", filepath.Join(sysClassBlock, "sda2")))
	for _, name := range []string{"vdc", "sda", "sda2"} {
		must(os.WriteFile(filepath.Join(devDir, name), nil, 0o644))
	}
	must(os.Symlink("../../sda2", filepath.Join(devDir, "disk/by-label/plinth-slots")))
	return sysClassBlock, devDir
}

func TestSlotsDisk(t *testing.T) {
	sys, dev := fakeSysBlock(t)
	for _, tc := range []struct{ device, want string }{
		{"vdc", "vdc"},                        // a whole disk
		{"sda2", "sda"},                       // a partition: its disk
		{"disk/by-label/plinth-slots", "sda"}, // through a link
		{"sda", "sda"},                        // a disk with partitions
	} {
		got, err := SlotsDisk(sys, filepath.Join(dev, tc.device))
		if err != nil || got != tc.want {
			t.Errorf("SlotsDisk(%s) = %q, %v; want %q", tc.device, got, err, tc.want)
		}
	}
	if _, err := SlotsDisk(sys, filepath.Join(dev, "sdz")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing device: %v", err)
	}
}

// testInit is an init whose log goes to a buffer and whose MarkGood
// records the directories it was given.
func testInit(markGood func(dir string) (string, error)) (*initProc, *strings.Builder) {
	var out strings.Builder
	ip := &initProc{cfg: Config{MarkGood: markGood}, log: NewLog(&out, func() time.Duration { return 0 }), stop: make(chan struct{})}
	return ip, &out
}

func TestSlotsDirectoryMarkedGood(t *testing.T) {
	dir := t.TempDir()
	var got []string
	ip, out := testInit(func(d string) (string, error) { got = append(got, d); return "firmware slot b marked good", nil })
	ip.mountSlots(Params{Slots: dir})
	if ip.reservedDrives() != nil {
		t.Fatalf("a directory reserves drives: %v", ip.reservedDrives())
	}
	ip.markGood()
	if len(got) != 1 || got[0] != dir {
		t.Fatalf("MarkGood got %q", got)
	}
	for _, want := range []string{"firmware slots: the directory " + dir + " (plinth.slots)", "serve is up: firmware slot b marked good"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
	ip.unmountSlots() // nothing mounted: nothing to do, nothing logged
	if strings.Contains(out.String(), "unmount") {
		t.Errorf("unmounted a directory:\n%s", out)
	}

	// MarkGood failing: said, with what it means.
	ip, out = testInit(func(string) (string, error) { return "", errors.New("disk on fire") })
	ip.mountSlots(Params{Slots: dir})
	ip.markGood()
	if !strings.Contains(out.String(), "marking the firmware slot good in "+dir+" failed: disk on fire (a slot on trial is rolled back at the next boot)") {
		t.Errorf("log:\n%s", out)
	}
}

func TestSlotsUnavailable(t *testing.T) {
	called := false
	ip, out := testInit(func(string) (string, error) { called = true; return "", nil })
	// No plinth.slots: nothing logged, nothing marked.
	ip.mountSlots(Params{})
	ip.markGood()
	if called || out.Len() != 0 {
		t.Fatalf("without plinth.slots: called %v, log %q", called, out)
	}
	// A device that is not there: serve anyway, nothing marked good, and
	// the log says what that means and what to do.
	ip.mountSlots(Params{Slots: "/dev/plinth-no-such-disk"})
	ip.markGood()
	if called {
		t.Fatal("MarkGood called without the slots")
	}
	for _, want := range []string{
		"plinth.slots=/dev/plinth-no-such-disk is not a block device here",
		"Serving anyway, but the booted firmware slot will not be marked good",
		"e2fsck -f /dev/plinth-no-such-disk", "mkfs.ext4 -L plinth-slots /dev/plinth-no-such-disk",
		"serve is up, but the firmware slots (plinth.slots=/dev/plinth-no-such-disk) are not available (see above): the booted slot is not marked good",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat("/dev/plinth-no-such-disk"); err == nil {
		t.Error("a directory was made in /dev")
	}
	// An image without MarkGood says so.
	ip, out = testInit(nil)
	ip.mountSlots(Params{Slots: t.TempDir()})
	ip.markGood()
	if !strings.Contains(out.String(), "this build cannot mark slots good") {
		t.Errorf("log:\n%s", out)
	}
}

func TestSlotsReserveTheirDisk(t *testing.T) {
	ip, _ := testInit(nil)
	ip.slots = slots{param: "/dev/sda2", disk: "sda"}
	r := ip.reservedDrives()
	if len(r) != 1 || r["sda"] != "it holds the firmware slots (plinth.slots=/dev/sda2)" {
		t.Fatalf("reserved %v", r)
	}
}
