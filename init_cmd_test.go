package main

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/appliance/initd"
	"github.com/plinth-storage/plinth/hw"
	"github.com/plinth-storage/plinth/images"
	"github.com/plinth-storage/plinth/io/dev"
)

// plinth init itself runs only as PID 1: the QEMU boot test
// (images/boot_test.go) proves it. These tests cover what runs anywhere.

func TestInitRefusesOutsidePID1(t *testing.T) {
	code, _, errOut := run(t, "init")
	if code != 2 || !strings.Contains(errOut, "first process (PID 1)") || !strings.Contains(errOut, "this is pid") {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	code, _, errOut = run(t, "init", "extra")
	if code != 2 || !strings.Contains(errOut, "init takes no arguments") {
		t.Fatalf("with an argument: exit %d\n%s", code, errOut)
	}
}

func TestInitHelpDocumentsParameters(t *testing.T) {
	code, out, _ := run(t, "help", "init")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{
		"plinth.format=blank|never", "plinth.drives=auto|P,P...", "plinth.fsck=off|boot|shutdown|boot,shutdown",
		`plinth.run="PROG ARGS..."`, "plinth.settle=DURATION", "plinth.slots=DEVICE|DIR", "/run/plinth-slots", "ip=CLIENT:SERVER:GW:NETMASK:HOSTNAME:DEVICE:off",
		"/etc/plinth/modules", "/etc/plinth/token", "/var/lib/plinth", "SIGUSR2, SIGPWR or the ACPI power button", "SIGINT or SIGTERM",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plinth help init lacks %q", want)
		}
	}
}

func TestCommandArgs(t *testing.T) {
	for _, tc := range []struct {
		argv, want []string
	}{
		{[]string{"/init"}, []string{"init"}},
		// Words the kernel did not know are passed to init: not flags.
		{[]string{"/init", "single", "-s"}, []string{"init"}},
		{[]string{"init"}, []string{"init"}},
		{[]string{"/bin/plinth", "serve", "--once"}, []string{"serve", "--once"}},
		{[]string{"plinth"}, []string{}},
		{[]string{"/sbin/initialize", "version"}, []string{"version"}},
		{nil, nil},
	} {
		if got := commandArgs(tc.argv); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("commandArgs(%q) = %q, want %q", tc.argv, got, tc.want)
		}
	}
}

func TestInitSegmentSize(t *testing.T) {
	zoned := func(zone int64) hw.Drive { return hw.Drive{Zoned: dev.ZoneModelHostManaged, ZoneSize: zone} }
	conv := hw.Drive{}
	for _, tc := range []struct {
		drives []hw.Drive
		want   int64
	}{
		{[]hw.Drive{conv, conv}, 0},
		{[]hw.Drive{zoned(16 << 20), conv, zoned(16 << 20)}, 16 << 20},
		{[]hw.Drive{zoned(256 << 20), zoned(256 << 20)}, 256 << 20},
		// Zones of two sizes: conventional drives keep the default.
		{[]hw.Drive{zoned(16 << 20), zoned(256 << 20), conv}, 0},
	} {
		if got := initSegmentSize(tc.drives); got != tc.want {
			t.Errorf("initSegmentSize(%+v) = %d, want %d", tc.drives, got, tc.want)
		}
	}
}

// initSparseDrives makes sparse files of the given sizes as drives a.img,
// b.img, ...
func initSparseDrives(t *testing.T, sizes ...int64) []hw.Drive {
	dir := t.TempDir()
	var drives []hw.Drive
	for i, size := range sizes {
		p := filepath.Join(dir, string(rune('a'+i))+".img")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(size); err != nil {
			t.Fatal(err)
		}
		f.Close()
		drives = append(drives, hw.Drive{Name: filepath.Base(p), Path: p, Size: size})
	}
	return drives
}

func TestInitFormatDrives(t *testing.T) {
	// 8 GiB drives have 31 segments of 256 MiB, 4 GiB ones 15: their
	// metadata layouts differ, and only the 4 GiB drives are three.
	drives := initSparseDrives(t, 8<<30, 4<<30, 4<<30, 8<<30, 4<<30, 4<<30)
	progress := &strings.Builder{}
	id, err := formatInitDrives(drives, progress)
	if err != nil {
		t.Fatalf("format: %v\n%s", err, progress)
	}
	if !strings.Contains(progress.String(), "creating the metadata store") {
		t.Fatalf("progress: %s", progress)
	}
	// Three drives of one metadata layout first (in the order given),
	// then the rest, larger first.
	node, err := appliance.OpenNode(initd.Paths(drives))
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, d := range node.Drives {
		order = append(order, filepath.Base(d.Path))
	}
	node.Close()
	if node.ID.String() != id || strings.Join(order, " ") != "b.img c.img e.img a.img d.img f.img" {
		t.Fatalf("node %s (formatted %s), drives by position: %v", node.ID, id, order)
	}
	// A second format refuses the labelled drives.
	if _, err := formatInitDrives(drives, &strings.Builder{}); !errors.Is(err, appliance.ErrLabelled) {
		t.Fatalf("second format: %v", err)
	}
	if _, err := formatInitDrives([]hw.Drive{{Path: filepath.Join(t.TempDir(), "missing")}}, &strings.Builder{}); err == nil {
		t.Fatal("a missing drive formatted")
	}
}

func TestInitFormatNeedsMatchingMirrors(t *testing.T) {
	// No three drives share a metadata layout: refused before writing.
	drives := initSparseDrives(t, 8<<30, 4<<30, 8<<30, 4<<30)
	_, err := formatInitDrives(drives, &strings.Builder{})
	if err == nil || !strings.Contains(err.Error(), "no 3 of these drives have the same metadata layout") {
		t.Fatalf("got %v", err)
	}
	for _, d := range drives {
		if _, err := appliance.OpenNode([]string{d.Path}); err == nil {
			t.Fatalf("%s was formatted", d.Path)
		}
	}
	// Two drives of different sizes are both mirrors: refused too; two
	// of the same size format.
	if _, err := formatInitDrives(initSparseDrives(t, 8<<30, 4<<30), &strings.Builder{}); err == nil || !strings.Contains(err.Error(), "no 2 of these") {
		t.Fatalf("two drives: %v", err)
	}
	if _, err := formatInitDrives(initSparseDrives(t, 4<<30, 4<<30), &strings.Builder{}); err != nil {
		t.Fatalf("two equal drives: %v", err)
	}
}

func TestInitMarkGood(t *testing.T) {
	f := newFirmwareFixture(t)
	key, bundle := f.signedV1(t)
	pub, err := images.LoadPublicKey(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(f.dir, "slots")
	// Nothing installed: nothing to mark.
	if _, err := initMarkGood(dir); !errors.Is(err, images.ErrNoFirmware) {
		t.Fatalf("empty slots: %v", err)
	}
	slots, err := images.OpenSlots(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := slots.Apply(bundle, pub, images.DefaultProduct); err != nil {
		t.Fatal(err)
	}
	boot, err := slots.Boot(pub)
	if err != nil || !boot.Once {
		t.Fatalf("boot: %+v %v", boot, err)
	}
	// The trial boot started serve: its slot becomes the active one.
	what, err := initMarkGood(dir)
	if err != nil || !strings.Contains(what, "(on trial) marked good and made active") || !strings.Contains(what, boot.Slot) {
		t.Fatalf("mark good: %q %v", what, err)
	}
	st, err := slots.Status()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "state.json"))
	if !strings.Contains(string(b), `"active": "`+boot.Slot+`"`) {
		t.Fatalf("state after mark good: %s (status %+v)", b, st)
	}
	// The next boot of the same slot: marked good again, nothing changes.
	what, err = initMarkGood(dir)
	if err != nil || strings.Contains(what, "on trial") || !strings.Contains(what, "firmware slot "+boot.Slot+" marked good") {
		t.Fatalf("mark good again: %q %v", what, err)
	}
}
