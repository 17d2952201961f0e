package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/btree"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/io/zonemu"
	"github.com/plinth-storage/plinth/pool"
	"github.com/plinth-storage/plinth/superblock"
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

// TestFsckRepairCommand: --repair with a damaged label record: --dry-run
// and a refused question change no byte, no terminal and no --yes repairs
// nothing and says to pass --yes, --yes repairs (exit 1) and the next
// check is clean; the flags that need --repair are refused without it.
func TestFsckRepairCommand(t *testing.T) {
	dir := fsckNode(t)
	drive0 := filepath.Join(dir, "drives", "drive-0.zdev")
	b, err := os.ReadFile(drive0)
	if err != nil {
		t.Fatal(err)
	}
	best, bestSeq := -1, uint64(0)
	for off := 0; off < 2*superblock.AreaMax; off += superblock.ScanStep {
		rec, err := superblock.DecodeRecord(b[off : off+superblock.SlotSize])
		if err == nil && rec.Seq > bestSeq {
			best, bestSeq = off, rec.Seq
		}
	}
	b[best+superblock.HeaderSize+20] ^= 0xff
	if err := os.WriteFile(drive0, b, 0o600); err != nil {
		t.Fatal(err)
	}
	digest := func() string {
		h := sha256.New()
		for i := range 6 {
			b, err := os.ReadFile(filepath.Join(dir, "drives", fmt.Sprintf("drive-%d.zdev", i)))
			if err != nil {
				t.Fatal(err)
			}
			h.Write(b)
		}
		return fmt.Sprintf("%x", h.Sum(nil))
	}
	before := digest()
	oldIn, oldTerm := fsckStdin, fsckTerminal
	defer func() { fsckStdin, fsckTerminal = oldIn, oldTerm }()

	code, out, errOut := run(t, "fsck", "--repair", "--dry-run", "--data", dir)
	if code != 4 || !strings.Contains(out, "repair: would fix") || !strings.Contains(out, "nothing changed") || digest() != before {
		t.Fatalf("dry run: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	fsckTerminal = func() bool { return false }
	code, out, errOut = run(t, "fsck", "--repair", "--data", dir)
	if code != 4 || !strings.Contains(errOut, "pass --yes") || !strings.Contains(out, "repair: declined") || digest() != before {
		t.Fatalf("no terminal: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	fsckTerminal = func() bool { return true }
	fsckStdin = strings.NewReader("n\n")
	code, out, errOut = run(t, "fsck", "--repair", "--data", dir)
	if code != 4 || !strings.Contains(errOut, "fix? [y/N]") || digest() != before {
		t.Fatalf("refused: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	code, out, errOut = run(t, "fsck", "--repair", "--yes", "--json", "--data", dir)
	var r fsck.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != 1 || r.ExitCode != 1 || r.Repair == nil || r.Repair.Left != 0 {
		t.Fatalf("repair: exit %d, %v\nstdout:\n%s\nstderr:\n%s", code, err, out, errOut)
	}
	if len(r.Findings) != 1 || r.Findings[0].Status != fsck.StatusFixed || !strings.Contains(errOut, "errors corrected") {
		t.Fatalf("findings %+v\nstderr:\n%s", r.Findings, errOut)
	}
	if code, out, errOut := run(t, "fsck", "--deep", "--data", dir); code != 0 || !strings.Contains(out, "clean (exit 0)") {
		t.Fatalf("after the repair: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, args := range [][]string{
		{"fsck", "--yes", "--data", dir},
		{"fsck", "--dry-run", "--data", dir},
		{"fsck", "--clear-lost-found", "--data", dir},
		{"fsck", "--repair", "--yes", "--dry-run", "--data", dir},
	} {
		if code, _, errOut := run(t, args...); code != 8 {
			t.Errorf("%v: exit %d, want 8\n%s", args, code, errOut)
		}
	}
}

// TestFsckRepairZoned: on emulated zoned drives (metadata and data
// segments are sequential zones, nothing rewritten in place), a damaged
// B-tree node copy and a corrupt data unit are repaired by --repair --yes
// --deep, and the deep check after it finds no error; every object reads
// back.
func TestFsckRepairZoned(t *testing.T) {
	dir := fsckNode(t)
	drives, err := filepath.Glob(filepath.Join(dir, "drives", "drive-*.zdev"))
	if err != nil || len(drives) != 6 {
		t.Fatalf("drives %v %v", drives, err)
	}
	node, err := appliance.OpenNode(drives)
	if err != nil {
		t.Fatal(err)
	}
	st, err := node.OpenStoreReadOnly(store.Options{}, store.ReadOnlyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pools, err := node.OpenPoolsReadOnly(context.Background(), st, pool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := st.View("pool/default/extents")
	if err != nil {
		t.Fatal(err)
	}
	sn, err := v.Snapshot("pool/default/extents")
	if err != nil {
		t.Fatal(err)
	}
	var nodeAt int64
	if err := sn.Walk(func(p btree.Ptr, level uint8) error {
		if level == 0 && nodeAt == 0 {
			l := node.Drives[1].Label.Label()
			nodeAt = l.SegmentOffset(l.Meta.SegFirst+p.Addr.Set) + int64(p.Addr.Off) + int64(p.Addr.Len)/2
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	v.Close()
	var first alloc.Set
	for s, err := range pools[0].Allocator().Sets(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		if first.ID == 0 || s.ID < first.ID {
			first = s
		}
	}
	m := first.Members[1]
	l := node.Drives[m.Drive].Label.Label()
	unitAt := l.SegmentOffset(m.Segment) + 4096 + 1000
	pools[0].Close()
	st.Close()
	node.Close()
	flip := func(path string, off int64) {
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		b := make([]byte, 1)
		if _, err := f.ReadAt(b, off); err != nil {
			t.Fatal(err)
		}
		b[0] ^= 0xff
		if _, err := f.WriteAt(b, off); err != nil {
			t.Fatal(err)
		}
	}
	flip(drives[1], nodeAt)
	flip(drives[m.Drive], unitAt)
	if code, out, _ := run(t, "fsck", "--deep", "--data", dir); code != 4 || strings.Count(out, "ERROR") != 2 {
		t.Fatalf("check: exit %d\n%s", code, out)
	}
	code, out, errOut := run(t, "fsck", "--repair", "--yes", "--deep", "--data", dir)
	if code != 1 {
		t.Fatalf("repair: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	code, out, errOut = run(t, "fsck", "--deep", "--json", "--data", dir)
	var r fsck.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != 0 || r.Errors != 0 {
		t.Fatalf("after the repair: exit %d %v\nstdout:\n%s\nstderr:\n%s", code, err, out, errOut)
	}
	node, err = appliance.OpenNode(drives)
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	rw, err := node.OpenStore(store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	pools, err = node.OpenPools(context.Background(), rw, pool.Options{Cleaner: pool.CleanerOptions{Manual: true}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pools[0].Close()
	for i := range 8 {
		want := bytes.Repeat([]byte{byte(i), 7}, 30_000*(i+1))
		got := make([]byte, len(want))
		n, _, err := pools[0].ReadAt(context.Background(), fmt.Appendf(nil, "o/b/k%d", i), got, 0)
		if n != len(want) || !bytes.Equal(got, want) {
			t.Fatalf("k%d: %d bytes, %v", i, n, err)
		}
	}
}
