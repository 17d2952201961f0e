package hw

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// The fixture machine: testdata/sys is its sysfs, testdata/mountinfo its
// mount table, and fixtureDevRoot builds its device nodes.

const (
	fixtureSysfs     = "testdata/sys"
	fixtureMountInfo = "testdata/mountinfo"
	nodeSize         = 64 << 10
)

// fixtureDevRoot writes the device nodes as 64 KiB regular files, zero but
// for the magic numbers, into a temporary directory. sdk has no node.
func fixtureDevRoot(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range []string{"sda", "sdb", "sdc", "sdd", "sde", "sdf", "sdg", "sdh", "sdi",
		"nvme0n1", "nvme0n2", "loop1", "vda", "nbd1"} {
		writeNode(t, filepath.Join(dir, n), nodeSize)
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
	return dir
}

// fixtureLabel is the Label hook: sdh is node-b's, sdi node-a's.
func fixtureLabel(p string) (string, bool, error) {
	switch filepath.Base(p) {
	case "sdh":
		return "node-b", true, nil
	case "sdi":
		return "node-a", true, nil
	}
	return "", false, nil
}

func fixtureOptions(devRoot string) Options {
	return Options{
		SysfsRoot: fixtureSysfs,
		DevRoot:   devRoot,
		MountInfo: fixtureMountInfo,
		Label:     fixtureLabel,
		ThisNode:  "node-a",
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
