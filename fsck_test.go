package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/io/zonemu"
	"github.com/plinth-storage/plinth/pool"
	"github.com/plinth-storage/plinth/tools/fsck"
)

// fsckNode makes an embedded default node of six small emulated zoned
// drives in a data directory, with some objects in its pool, stopped.
func fsckNode(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	cfg := zonemu.Config{ZoneSize: 1 << 20, ZoneCapacity: 1 << 20, NrZones: 40, NrConventional: 2,
		MaxOpenZones: 8, LogicalBlockSize: 4096, Behavior: zonemu.BehaviorSMR}
	paths, _, err := appliance.EnsureDefault(dir, appliance.DefaultOptions{Drives: 6, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	node, err := appliance.OpenNode(paths)
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	st, err := node.OpenStore(store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pools, err := node.OpenPools(context.Background(), st, pool.Options{Cleaner: pool.CleanerOptions{Manual: true}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		b := bytes.Repeat([]byte{byte(i), 7}, 30_000*(i+1))
		if _, err := pools[0].Put(context.Background(), fmt.Appendf(nil, "o/b/k%d", i), 1, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range pools {
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestFsckCommand: exit statuses, the human and JSON reports, progress
// lines on stderr, a missing drive, a drive in use, bad arguments.
func TestFsckCommand(t *testing.T) {
	dir := fsckNode(t)
	drives := filepath.Join(dir, "drives")

	code, out, errOut := run(t, "fsck", "--data", dir)
	if code != 0 || !strings.Contains(out, "clean (exit 0)") || strings.Count(errOut, "fsck: [") != len(fsck.Phases) {
		t.Fatalf("clean node: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	code, out, _ = run(t, "fsck", "--deep", "--json", "--data", dir)
	var r fsck.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != 0 || r.ExitCode != 0 || !r.Deep || len(r.Findings) != 0 || len(r.Phases) != len(fsck.Phases) {
		t.Fatalf("deep JSON: exit %d, %v\n%s", code, err, out)
	}
	for _, ph := range r.Phases {
		if ph.Skipped != "" {
			t.Fatalf("phase skipped in a deep check: %+v", ph)
		}
	}

	// Drives given by path, one left out: exit 4, the position named.
	var paths []string
	for i := range 6 {
		if i != 5 {
			paths = append(paths, filepath.Join(drives, fmt.Sprintf("drive-%d.zdev", i)))
		}
	}
	code, out, errOut = run(t, append([]string{"fsck", "--json"}, paths...)...)
	r = fsck.Report{}
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != 4 || r.ExitCode != 4 || r.Errors != 1 {
		t.Fatalf("missing drive: exit %d, %v\n%s\n%s", code, err, out, errOut)
	}
	if f := r.Findings[0]; f.Phase != fsck.PhaseLabels || f.Where.Position == nil || *f.Where.Position != 5 {
		t.Fatalf("finding %+v", f)
	}
	if !strings.Contains(errOut, "errors left uncorrected") {
		t.Fatalf("stderr %q", errOut)
	}

	// A drive held by another owner (this process): exit 8, naming it.
	f, err := os.Open(filepath.Join(drives, "drive-2.zdev"))
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = run(t, "fsck", "--data", dir)
	f.Close()
	if want := fmt.Sprintf("process %d (", os.Getpid()); code != 8 || out != "" || !strings.Contains(errOut, want) || !strings.Contains(errOut, "drive-2.zdev") {
		t.Fatalf("busy drive: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}

	// Bad arguments: exit 8, as e2fsck.
	for _, args := range [][]string{
		{"fsck", "--no-such-flag"},
		{"fsck", "--data", dir, paths[0]},
		{"fsck", "--data", filepath.Join(dir, "nothing-here")},
		{"fsck", filepath.Join(dir, "no-such-drive")},
		{"fsck", paths[0], paths[1], paths[0]},
	} {
		if code, _, errOut := run(t, args...); code != 8 {
			t.Errorf("%v: exit %d, want 8\n%s", args, code, errOut)
		}
	}
}
