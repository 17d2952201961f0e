package hw

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/superblock"
)

// fixtureDrives is what Inventory must report for the fixture machine.
func fixtureDrives(devRoot string) []Drive {
	p := func(n string) string { return filepath.Join(devRoot, n) }
	return []Drive{
		{
			Name: "loop1", Path: p("loop1"), Transport: "loop",
			Size: 2097152 * 512, LogicalBlockSize: 512, PhysicalBlockSize: 512,
		},
		{
			Name: "nbd1", Path: p("nbd1"), Transport: "nbd",
			Size: 2097152 * 512, LogicalBlockSize: 512, PhysicalBlockSize: 512,
		},
		{
			// A conventional namespace: its chunk_sectors is not a zone size.
			Name: "nvme0n1", Path: p("nvme0n1"),
			Model: "WZS4C8T4TDSP303", Serial: "A0B1C2D3E4F5", WWN: "eui.0014ee8300000001", Transport: "nvme",
			Size: 16777216 * 512, LogicalBlockSize: 512, PhysicalBlockSize: 512,
		},
		{
			Name: "nvme0n2", Path: p("nvme0n2"),
			Model: "WZS4C8T4TDSP303", Serial: "A0B1C2D3E4F5", WWN: "eui.0014ee8300000002", Transport: "nvme",
			Size: 15468593152 * 512, Zoned: dev.ZoneModelHostManaged,
			ZoneSize: 4194304 * 512, NrZones: 3688, MaxOpenZones: 14, MaxActiveZones: 14,
			LogicalBlockSize: 4096, PhysicalBlockSize: 4096, OptimalIOSize: 65536,
		},
		{
			Name: "sda", Path: p("sda"),
			Model: "ST18000NM000J-2T", Serial: "ZR5ABC12", WWN: "naa.5000c500e1a2b3c4", Transport: "sata",
			Size: 35156656128 * 512, Rotational: true, LogicalBlockSize: 512, PhysicalBlockSize: 4096,
		},
		{
			Name: "sdb", Path: p("sdb"),
			Model: "HSH721414ALN6M0", Serial: "9RGABCDE", WWN: "naa.5000cca0b1b2b3b4", Transport: "sata",
			Size: 27344764928 * 512, Rotational: true, Zoned: dev.ZoneModelHostManaged,
			ZoneSize: 256 << 20, NrZones: 52156, MaxOpenZones: 128,
			LogicalBlockSize: 4096, PhysicalBlockSize: 4096,
		},
		{
			Name: "sdc", Path: p("sdc"),
			Model: "Micron_5300_MTFDDAK1T9TDS", Serial: "2001ABCDEF01", Transport: "sata",
			Size: 3750748848 * 512, LogicalBlockSize: 512, PhysicalBlockSize: 4096,
			Refused: []string{
				"mounted at /srv/data pool (xfs), /mnt/bind (xfs)",
				"signature: XFS filesystem at byte 0",
			},
		},
		{
			Name: "sdd", Path: p("sdd"),
			Model: "ST4000NM0035-1V4107", Serial: "ZC1DDDD1", Transport: "sata",
			Size: 7814037168 * 512, Rotational: true, LogicalBlockSize: 512, PhysicalBlockSize: 4096,
			Refused: []string{
				"sdd1 mounted at /boot (ext4)",
				"has partitions: sdd1, sdd2",
				"sdd2 held by dm-0 (vg0-data)",
				"signature: GPT partition table at byte 512",
			},
		},
		{
			Name: "sde", Path: p("sde"),
			Model: "ST8000NM0055-1RM112", Serial: "ZA1EEEE1", Transport: "sata",
			Size: 15628053168 * 512, Rotational: true, LogicalBlockSize: 512, PhysicalBlockSize: 4096,
			Refused: []string{
				"held by md127",
				"signature: Linux md RAID superblock v1.2 at byte 4096",
			},
		},
		{
			Name: "sdf", Path: p("sdf"),
			Model: "ST8000NM0055-1RM112", Serial: "ZA1FFFF1", Transport: "sata",
			Size: 15628053168 * 512, Rotational: true, LogicalBlockSize: 512, PhysicalBlockSize: 4096,
			Refused: []string{"signature: Linux md RAID superblock v1.0 at byte 57344"},
		},
		{
			Name: "sdg", Path: p("sdg"),
			Model: "WDC WD40EFRX-68N32N0", Serial: "WD-WCC7K0GGGGGG", Transport: "sata",
			Size: 7814037168 * 512, Rotational: true, LogicalBlockSize: 512, PhysicalBlockSize: 4096,
			Refused: []string{"signature: ext4 filesystem at byte 1080"},
		},
		{
			Name: "sdh", Path: p("sdh"),
			Model: "ST18000NM004J", Serial: "ZR5SAS01", WWN: "naa.5000c500aaaaaaa0", Transport: "sas",
			Size: 35156656128 * 512, Rotational: true, LogicalBlockSize: 4096, PhysicalBlockSize: 4096,
			PlinthNode: nodeB.String(), PlinthDrive: driveH.String(), PlinthPosition: 1,
			Refused: []string{"belongs to another Plinth node: " + nodeB.String()},
		},
		{
			Name: "sdi", Path: p("sdi"),
			Model: "HUH721212AL5200", Serial: "8DHIIII1", WWN: "naa.5000cca2aaaaaaa0", Transport: "sas",
			Size: 23437770752 * 512, Rotational: true, LogicalBlockSize: 4096, PhysicalBlockSize: 4096,
			PlinthNode: nodeA.String(), PlinthDrive: driveI.String(), PlinthPosition: 0,
		},
		{
			Name: "sdk", Path: p("sdk"),
			Model: "ST2000DM008-2FR102", Serial: "ZFLKKKK1", Transport: "sata",
			Size: 3907029168 * 512, Rotational: true, LogicalBlockSize: 512, PhysicalBlockSize: 4096,
			Refused: []string{"cannot read device node: open " + p("sdk") + ": no such file or directory"},
		},
		{
			Name: "vda", Path: p("vda"),
			Serial: "plinth-test-disk", Transport: "virtio",
			Size: 67108864 * 512, Rotational: true, LogicalBlockSize: 512, PhysicalBlockSize: 512,
		},
	}
}

func TestInventoryFixture(t *testing.T) {
	devRoot := fixtureDevRoot(t)
	got, err := Inventory(fixtureOptions(devRoot))
	if err != nil {
		t.Fatal(err)
	}
	diffDrives(t, got, fixtureDrives(devRoot))
	for _, d := range got {
		want := map[string]bool{"loop1": true, "nbd1": true, "nvme0n1": true, "nvme0n2": true,
			"sda": true, "sdb": true, "sdi": true, "vda": true}[d.Name]
		if d.Usable() != want {
			t.Errorf("%s.Usable() = %v, want %v", d.Name, d.Usable(), want)
		}
	}
}

func TestInventoryNodeWithoutUUID(t *testing.T) {
	opts := fixtureOptions(fixtureDevRoot(t))
	opts.ThisNode = ""
	got, err := Inventory(opts)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"sdh": "labelled by Plinth node " + nodeB.String() + " (this node has no UUID yet)",
		"sdi": "labelled by Plinth node " + nodeA.String() + " (this node has no UUID yet)",
	}
	for _, d := range got {
		if w, ok := want[d.Name]; ok && (len(d.Refused) != 1 || d.Refused[0] != w) {
			t.Errorf("%s refused %q, want [%q]", d.Name, d.Refused, w)
		}
	}
}

// TestInventoryThisNodeSpelling: ThisNode is compared as a UUID, not as a
// string.
func TestInventoryThisNodeSpelling(t *testing.T) {
	opts := fixtureOptions(fixtureDevRoot(t))
	opts.ThisNode = "urn:uuid:" + strings.ToUpper(nodeA.String())
	got, err := Inventory(opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range got {
		if d.Name == "sdi" && !d.Usable() {
			t.Errorf("sdi refused %q with ThisNode %q", d.Refused, opts.ThisNode)
		}
	}
}

// labelProblems adds to the fixture's nodes: on sda a label of a newer
// format version, on vda a damaged label, and on the zoned sdb (256 MiB
// zones) this node's label in zone 1 and another node's at byte 1 MiB, where
// a conventional drive's area 1 would be.
func labelProblems(t *testing.T, devRoot string) {
	t.Helper()
	newer := labelImage(t, nodeA, driveH, 1)[:4096]
	binary.LittleEndian.PutUint16(newer[8:], superblock.FormatVersion+1)
	patch(t, devRoot, "sda", 0, newer)

	damaged := labelImage(t, nodeA, driveH, 1)[:4096]
	damaged[superblock.HeaderSize+16] ^= 0xff // in the drive UUID
	patch(t, devRoot, "vda", 0, damaged)

	const zoneSize = 256 << 20
	writeNode(t, filepath.Join(devRoot, "sdb"), zoneSize+labelledNodeSize)
	patch(t, devRoot, "sdb", 1<<20, labelImage(t, nodeB, driveH, 1)[:4096])
	patch(t, devRoot, "sdb", zoneSize, labelImage(t, nodeA, driveI, 0)[:4096])
}

func TestInventoryLabelProblems(t *testing.T) {
	opts := fixtureOptions(fixtureDevRoot(t))
	labelProblems(t, opts.DevRoot)
	got, err := Inventory(opts)
	if err != nil {
		t.Fatal(err)
	}
	// Each refusal: how it starts and what it mentions.
	want := map[string][]string{
		"sda": {"formatted by a newer Plinth: ", "record format version 2"},
		"vda": {"carries a damaged Plinth label: ", "checksum"},
		"sdb": nil, // this node's, in zone 1
		// A node that cannot be read is not asked for its label.
		"sdk": {"cannot read device node: open " + filepath.Join(opts.DevRoot, "sdk") + ": no such file or directory"},
	}
	for _, d := range got {
		w, ok := want[d.Name]
		if !ok {
			continue
		}
		switch {
		case len(w) == 0:
			if !d.Usable() {
				t.Errorf("%s refused %q", d.Name, d.Refused)
			}
		case len(d.Refused) != 1 || !strings.HasPrefix(d.Refused[0], w[0]) || !strings.Contains(d.Refused[0], w[len(w)-1]):
			t.Errorf("%s refused %q, want one reason starting %q and mentioning %q", d.Name, d.Refused, w[0], w[len(w)-1])
		}
		if d.Name != "sdb" && d.PlinthNode+d.PlinthDrive != "" {
			t.Errorf("%s has PlinthNode %q, PlinthDrive %q from an unreadable label", d.Name, d.PlinthNode, d.PlinthDrive)
		}
		if d.Name == "sdb" && (d.PlinthNode != nodeA.String() || d.PlinthDrive != driveI.String() || d.PlinthPosition != 0) {
			t.Errorf("sdb labelled %s/%s/%d, want zone 1's label %s/%s/0", d.PlinthNode, d.PlinthDrive, d.PlinthPosition, nodeA, driveI)
		}
	}
}

func TestInventorySkipLabels(t *testing.T) {
	opts := fixtureOptions(fixtureDevRoot(t))
	labelProblems(t, opts.DevRoot)
	opts.SkipLabels = true
	opts.ThisNode = ""
	got, err := Inventory(opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range got {
		if d.PlinthNode != "" || d.PlinthDrive != "" || d.PlinthPosition != 0 {
			t.Errorf("%s labelled %q/%q/%d with SkipLabels", d.Name, d.PlinthNode, d.PlinthDrive, d.PlinthPosition)
		}
		switch d.Name {
		case "sda", "sdb", "sdh", "sdi", "vda":
			if !d.Usable() {
				t.Errorf("%s refused %q with SkipLabels", d.Name, d.Refused)
			}
		}
	}
}

// minimalDisk is a sysfs tree with one plain disk, sdx, for the error and
// edge cases to modify.
func minimalDisk() map[string]string {
	return map[string]string{
		"sys/block/sdx/dev":                      "8:0\n",
		"sys/block/sdx/size":                     "2048\n",
		"sys/block/sdx/queue/logical_block_size": "512\n",
		"mountinfo":                              "1 0 8:16 / / rw - ext4 /dev/sdb rw\n",
		"dev/sdx":                                strings.Repeat("\x00", 4096),
	}
}

func inventoryTree(t *testing.T, files map[string]string) ([]Drive, error) {
	t.Helper()
	dir := writeTree(t, files)
	return Inventory(Options{
		SysfsRoot: filepath.Join(dir, "sys"),
		DevRoot:   filepath.Join(dir, "dev"),
		MountInfo: filepath.Join(dir, "mountinfo"),
	})
}

func TestInventoryMinimalDisk(t *testing.T) {
	got, err := inventoryTree(t, minimalDisk())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got[0].Usable() || got[0].Size != 2048*512 || got[0].Transport != "scsi" ||
		got[0].PhysicalBlockSize != 0 || got[0].Zoned != dev.ZoneModelNone {
		t.Fatalf("got %+v", got)
	}
}

func TestInventoryErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(map[string]string)
		wants []string // substrings of the error
	}{
		{"missing size", func(f map[string]string) { delete(f, "sys/block/sdx/size") },
			[]string{"drive sdx", "mandatory sysfs file", "sys/block/sdx/size is missing"}},
		{"missing logical block size", func(f map[string]string) { delete(f, "sys/block/sdx/queue/logical_block_size") },
			[]string{"drive sdx", "sys/block/sdx/queue/logical_block_size is missing"}},
		{"malformed size", func(f map[string]string) { f["sys/block/sdx/size"] = "lots\n" },
			[]string{"sys/block/sdx/size", `"lots" is not a non-negative number`}},
		{"negative optimal io size", func(f map[string]string) { f["sys/block/sdx/queue/optimal_io_size"] = "-1\n" },
			[]string{"sys/block/sdx/queue/optimal_io_size", `"-1"`}},
		{"size overflows bytes", func(f map[string]string) { f["sys/block/sdx/size"] = "9223372036854775807\n" },
			[]string{"sys/block/sdx/size", "out of range"}},
		{"malformed loop size", func(f map[string]string) { f["sys/block/loop3/size"] = "x\n" },
			[]string{"drive loop3", "sys/block/loop3/size"}},
		{"missing mount table", func(f map[string]string) { delete(f, "mountinfo") },
			[]string{"read mount table", "mountinfo"}},
		{"malformed mount table", func(f map[string]string) { f["mountinfo"] = "garbage\n" },
			[]string{"mountinfo line 1: not a mountinfo line"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := minimalDisk()
			tc.edit(files)
			_, err := inventoryTree(t, files)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestInventoryNoSysfs(t *testing.T) {
	_, err := Inventory(Options{SysfsRoot: t.TempDir(), MountInfo: fixtureMountInfo})
	if err == nil || !strings.Contains(err.Error(), "list block devices") {
		t.Fatalf("err = %v", err)
	}
}

func TestInventoryRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(map[string]string)
		want []string
	}{
		{"size zero", func(f map[string]string) { f["sys/block/sdx/size"] = "0\n" },
			[]string{"size is 0 (no medium, or the drive did not start)"}},
		{"unknown zone model", func(f map[string]string) { f["sys/block/sdx/queue/zoned"] = "host-psychic\n" },
			[]string{`unknown zone model "host-psychic" in queue/zoned`}},
		{"no dev file", func(f map[string]string) { delete(f, "sys/block/sdx/dev") },
			[]string{"cannot tell whether it is mounted: %s/sys/block/sdx/dev is missing"}},
		{"mounted twice with odd names", func(f map[string]string) {
			f["mountinfo"] = "1 0 8:0 / /a\\040b\\011c rw master:1 - ext4 /dev/sdx rw\n2 0 8:0 / /x rw -\n"
		}, []string{"mounted at /a b\tc (ext4), /x"}},
		{"partition held", func(f map[string]string) {
			f["sys/block/sdx/sdx3/partition"] = "3\n"
			f["sys/block/sdx/sdx3/dev"] = "8:3\n"
			f["sys/block/sdx/sdx3/holders/md5/dev"] = "9:5\n"
			f["sys/block/sdx/sdx10/partition"] = "10\n"
			f["sys/block/sdx/sdx10/dev"] = "8:10\n"
			f["sys/block/sdx/holders/dm-1/dm/name"] = "mpatha\n"
			f["sys/block/sdx/holders/dm-0/dm/name"] = "\n"
		}, []string{"has partitions: sdx3, sdx10", "held by dm-0, dm-1 (mpatha)", "sdx3 held by md5"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := minimalDisk()
			tc.edit(files)
			dir := writeTree(t, files)
			got, err := Inventory(Options{
				SysfsRoot: filepath.Join(dir, "sys"),
				DevRoot:   filepath.Join(dir, "dev"),
				MountInfo: filepath.Join(dir, "mountinfo"),
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("got %d drives", len(got))
			}
			var want []string
			for _, w := range tc.want {
				w = strings.ReplaceAll(w, "%s", dir)
				want = append(want, w)
			}
			if strings.Join(got[0].Refused, "|") != strings.Join(want, "|") {
				t.Errorf("refused\n %q\nwant\n %q", got[0].Refused, want)
			}
		})
	}
}

func TestInventorySkips(t *testing.T) {
	files := minimalDisk()
	for _, n := range []string{"ram0", "zram0", "dm-0", "md0", "sr0", "fd0"} {
		files["sys/block/"+n+"/size"] = "2048\n"
	}
	files["sys/block/loop0/size"] = "0\n"
	files["sys/block/nbd0/size"] = "0\n"
	files["sys/block/nvme0c0n1/hidden"] = "1\n"
	got, err := inventoryTree(t, files)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "sdx" {
		t.Fatalf("got %+v, want only sdx", got)
	}
}

// TestInventoryThisMachine runs on the real /sys: it must not fail, and
// every drive has a size (or is refused for having none).
func TestInventoryThisMachine(t *testing.T) {
	if _, err := os.Stat("/sys/block"); err != nil {
		t.Skip("no /sys/block:", err)
	}
	drives, err := Inventory(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range drives {
		if d.Size <= 0 && !contains(d.Refused, "size is 0 (no medium, or the drive did not start)") {
			t.Errorf("%s has no size: %+v", d.Name, d)
		}
		if d.LogicalBlockSize <= 0 {
			t.Errorf("%s has no logical block size", d.Name)
		}
	}
	var b strings.Builder
	if err := WriteTable(&b, drives); err != nil {
		t.Fatal(err)
	}
	t.Logf("this machine:\n%s", b.String())
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
