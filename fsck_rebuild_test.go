package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/seg"
	"github.com/plinth-storage/plinth/superblock"
	"github.com/plinth-storage/plinth/tools/beck"
	"github.com/plinth-storage/plinth/tools/fsck"
)

// TestFsckRebuildIndexCommand: 'plinth fsck --rebuild-index' refuses a
// readable store without --yes (exit 8), rebuilds one whose metadata is
// wiped (exit 1, the report on stdout, a progress line per phase on
// stderr, JSON with --json), and fsck then finds the node clean.
func TestFsckRebuildIndexCommand(t *testing.T) {
	dir := fsckNode(t)
	code, _, errOut := run(t, "fsck", "--rebuild-index", "--data", dir)
	if code != fsck.ExitOperational || !strings.Contains(errOut, "--yes") {
		t.Fatalf("readable store: exit %d\n%s", code, errOut)
	}
	if code, _, _ := run(t, "fsck", "--rebuild-index", "--deep", "--data", dir); code != fsck.ExitOperational {
		t.Fatalf("--rebuild-index --deep: exit %d", code)
	}
	wipeMetadataCopies(t, dir)
	code, out, errOut := run(t, "fsck", "--rebuild-index", "--json", "--data", dir)
	var r beck.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != fsck.ExitCorrected || r.Counters.Objects != 8 ||
		strings.Count(errOut, "fsck: [") != len(beck.Phases) {
		t.Fatalf("rebuild: exit %d, %v\nstdout:\n%s\nstderr:\n%s", code, err, out, errOut)
	}
	if code, out, _ := run(t, "fsck", "--deep", "--data", dir); code != 0 {
		t.Fatalf("fsck after the rebuild: exit %d\n%s", code, out)
	}
}

// wipeMetadataCopies destroys every copy of the metadata of the embedded
// default in dir: the mirrors' journal rings and metadata segments
// zeroed (zones reset).
func wipeMetadataCopies(t *testing.T, dir string) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "drives", "*.zdev"))
	if err != nil || len(paths) != 6 {
		t.Fatalf("drives %v %v", paths, err)
	}
	for _, p := range paths {
		d, err := appliance.OpenDevice(p)
		if err != nil {
			t.Fatal(err)
		}
		lg, err := superblock.Open(d)
		if err != nil {
			t.Fatal(err)
		}
		l := lg.Label()
		zero := make([]byte, l.SegmentSize)
		for _, r := range [][2]uint32{{l.RingFirst, l.RingCount}, {l.SegFirst, l.SegCount}} {
			for s := r[0]; s < r[0]+r[1]; s++ {
				loc, err := seg.Locate(d, l.Layout, s)
				if err != nil {
					t.Fatal(err)
				}
				if z, ok := dev.AsZoned(d); ok && loc.Sequential {
					err = z.ResetZone(loc.Start)
				} else {
					_, err = d.WriteAt(zero, loc.Start)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		d.Close()
	}
}

// A node served through its API: key-value indexes written over HTTP
// come back, through 'plinth fsck --rebuild-index', after every metadata
// copy is wiped; a dropped index stays dropped.
func TestE2EKeyValueRebuild(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: starts plinth serve (-short skips it)")
	}
	dir := filepath.Join(t.TempDir(), "plinth-data")
	n := startNode(t, dir)
	n.must(201, "PUT", "/v1/kv/users", nil)
	n.must(200, "POST", "/v1/kv/users", strings.NewReader(`{"ops": [{"op": "put", "key": "u1", "value": "Ada Lovelace"}, {"op": "put", "key": "u2", "value": "Grace Hopper"}]}`))
	n.must(204, "DELETE", "/v1/kv/users/u1", nil)
	n.must(201, "PUT", "/v1/kv/gone", nil)
	n.must(204, "PUT", "/v1/kv/gone/g", strings.NewReader("dropped"))
	n.must(204, "DELETE", "/v1/kv/gone", nil)
	n.stop()
	wipeMetadataCopies(t, dir)
	code, out, errOut := run(t, "fsck", "--rebuild-index", "--json", "--data", dir)
	var r beck.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != fsck.ExitCorrected || r.KV.Indexes != 1 || r.KV.Keys != 2 {
		t.Fatalf("rebuild: exit %d, %v\nstdout:\n%s\nstderr:\n%s", code, err, out, errOut)
	}
	n = startNode(t, dir)
	if _, b := n.must(200, "GET", "/v1/kv/users/u2", nil); string(b) != "Grace Hopper" {
		t.Fatalf("users/u2 after the rebuild: %q", b)
	}
	n.must(404, "GET", "/v1/kv/users/u1", nil)
	n.must(404, "GET", "/v1/kv/gone/g", nil)
	if _, b := n.must(200, "GET", "/v1/kv", nil); !strings.Contains(string(b), `"users"`) || strings.Contains(string(b), `"gone"`) {
		t.Fatalf("indexes after the rebuild: %s", b)
	}
	n.stop()
}
