package appliance

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/direct"
	"github.com/plinth-storage/plinth/io/zonemu"
	"github.com/plinth-storage/plinth/superblock"
)

func smallZoned() zonemu.Config {
	return zonemu.Config{ZoneSize: 1 << 20, ZoneCapacity: 1 << 20, NrZones: 8, NrConventional: 1,
		MaxOpenZones: 4, LogicalBlockSize: 4096, Behavior: zonemu.BehaviorSMR}
}

func TestEnsureDefaultCreatesOnceAndOpens(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	// The leftover of a first start that crashed half way is discarded.
	if err := os.MkdirAll(filepath.Join(dir, "drives.creating"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "drives.creating", "drive-0.zdev"), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	paths, created, err := EnsureDefault(dir, DefaultOptions{Drives: 4, Config: smallZoned(), Progress: &progress})
	if err != nil || !created || len(paths) != 4 {
		t.Fatalf("first start: %v %v %v", paths, created, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "drives.creating")); !os.IsNotExist(err) {
		t.Fatalf("scratch directory left behind: %v", err)
	}
	if !strings.Contains(progress.String(), "creating 4 emulated") {
		t.Fatalf("progress: %s", progress.String())
	}
	again, created, err := EnsureDefault(dir, DefaultOptions{Drives: 4, Config: smallZoned()})
	if err != nil || created || strings.Join(again, ",") != strings.Join(paths, ",") {
		t.Fatalf("second start: %v %v %v", again, created, err)
	}
	n, err := OpenNode(paths)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if n.Formatted != 4 || len(n.Drives) != 4 || len(n.Missing) != 0 {
		t.Fatalf("node %+v", n)
	}
	for i, d := range n.Drives {
		l := d.Label.Label()
		if int(l.Position) != i || l.Node != n.ID || l.ZoneModel != dev.ZoneModelHostManaged || l.NrSegments != 6 {
			t.Fatalf("drive %d label %+v", i, l)
		}
		if err := d.Label.Check(); err != nil {
			t.Fatal(err)
		}
	}
	// While the node is open its drives are owned: a second open fails
	// and says by whom.
	_, err = OpenNode(paths)
	if !errors.Is(err, dev.ErrBusy) || !strings.Contains(err.Error(), "this process") {
		t.Fatalf("second open: %v", err)
	}
	var report bytes.Buffer
	if err := n.WriteReport(&report); err != nil || !strings.Contains(report.String(), "4 of 4 drives present") {
		t.Fatalf("report: %v\n%s", err, report.String())
	}
}

func makeFiles(t *testing.T, n int, size int64) []string {
	t.Helper()
	var paths []string
	for i := 0; i < n; i++ {
		p := filepath.Join(t.TempDir(), "drive.img")
		d, err := direct.Open(p, direct.Options{Create: true, Size: size})
		if err != nil {
			t.Fatal(err)
		}
		d.Close()
		paths = append(paths, p)
	}
	return paths
}

func formatPaths(t *testing.T, paths []string, opts FormatOptions) error {
	t.Helper()
	var devs []dev.Device
	for _, p := range paths {
		d, err := OpenDevice(p)
		if err != nil {
			t.Fatal(err)
		}
		devs = append(devs, d)
	}
	defer closeAll(devs)
	_, err := FormatNode(devs, opts)
	return err
}

func TestOpenNodeChecksLabels(t *testing.T) {
	paths := makeFiles(t, 3, 16<<20)
	opts := FormatOptions{SegmentSize: 1 << 20}
	if err := formatPaths(t, paths, opts); err != nil {
		t.Fatal(err)
	}
	// Missing positions are reported, not fatal.
	n, err := OpenNode(paths[:2])
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Missing) != 1 || n.Missing[0] != 2 {
		t.Fatalf("missing %v", n.Missing)
	}
	var report bytes.Buffer
	n.WriteReport(&report)
	n.Close()
	if !strings.Contains(report.String(), "MISSING: drive positions [2]") {
		t.Fatalf("report does not flag the missing drive:\n%s", report.String())
	}

	// Labelled drives are refused without Force and nothing is written.
	err = formatPaths(t, paths[:1], opts)
	if !errors.Is(err, ErrLabelled) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("format of a labelled drive: %v", err)
	}
	// Re-format one drive into a new node: it no longer belongs.
	if err := formatPaths(t, paths[2:], FormatOptions{SegmentSize: 1 << 20, Force: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenNode(paths); !errors.Is(err, ErrForeignDrive) {
		t.Fatalf("open with a foreign drive: %v", err)
	}
	// A copy of a drive claims the same position as its original.
	copyPath := filepath.Join(t.TempDir(), "copy.img")
	b, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(copyPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenNode([]string{paths[0], copyPath}); !errors.Is(err, ErrForeignDrive) || !strings.Contains(err.Error(), "both claim position 0") {
		t.Fatalf("open with a duplicate: %v", err)
	}
	// A blank drive says how to format it.
	blank := makeFiles(t, 1, 16<<20)
	if _, err := OpenNode(blank); !errors.Is(err, superblock.ErrNoLabel) || !strings.Contains(err.Error(), "plinth mkfs") {
		t.Fatalf("open of a blank drive: %v", err)
	}
}
