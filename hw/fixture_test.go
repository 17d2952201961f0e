package hw

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/plinth-storage/plinth/io/memdev"
	"github.com/plinth-storage/plinth/superblock"
)

// The fixture machine: testdata/sys is its sysfs, testdata/mountinfo its
// mount table, and fixtureDevRoot builds its device nodes.

const (
	fixtureSysfs     = "testdata/sys"
	fixtureMountInfo = "testdata/mountinfo"
	nodeSize         = 64 << 10
	labelledNodeSize = 2 << 20 // both label areas of a conventional drive
)

// The fixture's Plinth identities: this node is nodeA; sdh belongs to
// nodeB (position 1), sdi to nodeA (position 0).
var (
	nodeA  = uuid.MustParse("aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa")
	nodeB  = uuid.MustParse("bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb")
	driveH = uuid.MustParse("d0000000-0000-4000-8000-0000000000a8")
	driveI = uuid.MustParse("d0000000-0000-4000-8000-0000000000a9")
)

// fixtureDevRoot writes the device nodes as sparse regular files, zero but
// for the magic numbers and labels, into a temporary directory: 64 KiB, or
// 2 MiB for the labelled sdh and sdi. sdk has no node.
func fixtureDevRoot(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range []string{"sda", "sdb", "sdc", "sdd", "sde", "sdf", "sdg",
		"nvme0n1", "nvme0n2", "loop1", "vda", "nbd1"} {
		writeNode(t, filepath.Join(dir, n), nodeSize)
	}
	for _, n := range []string{"sdh", "sdi"} {
		writeNode(t, filepath.Join(dir, n), labelledNodeSize)
	}
	// sdc: XFS.
	patch(t, dir, "sdc", 0, []byte("XFSB"))
	// sdd: GPT with its protective MBR.
	patch(t, dir, "sdd", 446+4, []byte{0xEE})
	patch(t, dir, "sdd", 510, []byte{0x55, 0xAA})
	patch(t, dir, "sdd", 512, []byte("EFI PART"))
	// sde: md v1.2, sdf: md v1.0 ((128 sectors - 16) &^ 7 = sector 112).
	patch(t, dir, "sde", 4096, le32(mdMagic))
	patch(t, dir, "sdf", 112*512, le32(mdMagic))
	// sdg: ext4: magic, has_journal, extents|flex_bg.
	patch(t, dir, "sdg", 1080, []byte{0x53, 0xEF})
	patch(t, dir, "sdg", 1024+0x5c, le32(0x4))
	patch(t, dir, "sdg", 1024+0x60, le32(0x40|0x200))
	// sdh: another node's label; sdi: this node's.
	patchSparse(t, dir, "sdh", 0, labelImage(t, nodeB, driveH, 1))
	patchSparse(t, dir, "sdi", 0, labelImage(t, nodeA, driveI, 0))
	return dir
}

func fixtureOptions(devRoot string) Options {
	return Options{
		SysfsRoot: fixtureSysfs,
		DevRoot:   devRoot,
		MountInfo: fixtureMountInfo,
		ThisNode:  nodeA.String(),
	}
}

// labelImage formats a 16 MiB in-memory drive as drive 'position' of a
// 6-drive node and returns its label areas: the first 2 MiB.
func labelImage(t *testing.T, node, drive uuid.UUID, position uint32) []byte {
	t.Helper()
	d := memdev.New("fixture", 16<<20, 4096)
	if _, err := superblock.Format(d, superblock.Label{
		Node: node, Drive: drive, Position: position, NodeDrives: 6,
		Created: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Layout:  superblock.Layout{SegmentSize: 1 << 20},
	}); err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(d.Bytes()[:2<<20])
}

// patchSparse is patch for large, mostly zero images: it writes only the
// 4 KiB blocks of b that are not zero, so the node stays sparse.
func patchSparse(t *testing.T, dir, name string, off int64, b []byte) {
	t.Helper()
	zero := make([]byte, 4096)
	for k := 0; k < len(b); k += len(zero) {
		blk := b[k:min(k+len(zero), len(b))]
		if !bytes.Equal(blk, zero[:len(blk)]) {
			patch(t, dir, name, off+int64(k), blk)
		}
	}
}

func writeNode(t *testing.T, path string, size int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
}

func patch(t *testing.T, dir, name string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

// writeTree creates files (path -> content) under a new temporary directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// diffDrives reports every field that differs, drive by drive.
func diffDrives(t *testing.T, got, want []Drive) {
	t.Helper()
	names := func(ds []Drive) []string {
		var n []string
		for _, d := range ds {
			n = append(n, d.Name)
		}
		return n
	}
	if !reflect.DeepEqual(names(got), names(want)) {
		t.Fatalf("drives = %q, want %q", names(got), names(want))
	}
	for i := range want {
		g, w := reflect.ValueOf(got[i]), reflect.ValueOf(want[i])
		for f := 0; f < g.NumField(); f++ {
			if !reflect.DeepEqual(g.Field(f).Interface(), w.Field(f).Interface()) {
				t.Errorf("%s.%s = %#v, want %#v", want[i].Name, g.Type().Field(f).Name,
					g.Field(f).Interface(), w.Field(f).Interface())
			}
		}
	}
}
