package hw

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// probeFile writes a sparse file of size bytes with the given patches and
// probes it.
func probeFile(t *testing.T, size int64, lbs int, patches map[int64][]byte) []string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "node")
	writeNode(t, path, size)
	for off, b := range patches {
		patch(t, dir, "node", off, b)
	}
	sigs, err := probeNode(path, lbs)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range sigs {
		out = append(out, s.String())
	}
	return out
}

// probeNode opens the node at path the way the inventory does and probes it.
func probeNode(path string, lbs int) ([]signature, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return signatures(f, path, lbs)
}

func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func TestProbeSignatures(t *testing.T) {
	const mib = 1 << 20
	odd := int64(3*mib + 12345)                                   // a size aligned to nothing
	mbrType := func(i int) int64 { return int64(446 + 16*i + 4) } // entry i's type byte
	for _, tc := range []struct {
		name    string
		size    int64
		lbs     int
		patches map[int64][]byte
		want    []string
	}{
		{"blank", mib, 512, nil, nil},
		{"tiny", 100, 512, nil, nil},
		{"empty", 0, 512, nil, nil},
		{"ext2", mib, 512, map[int64][]byte{1080: {0x53, 0xEF}}, []string{"ext2 filesystem at byte 1080"}},
		{"ext3", mib, 512, map[int64][]byte{1080: {0x53, 0xEF}, 1024 + 0x5c: le32(0x4)}, []string{"ext3 filesystem at byte 1080"}},
		{"ext4 64bit", mib, 512, map[int64][]byte{1080: {0x53, 0xEF}, 1024 + 0x60: le32(0x80)}, []string{"ext4 filesystem at byte 1080"}},
		{"ext magic big endian is not ext", mib, 512, map[int64][]byte{1080: {0xEF, 0x53}}, nil},
		{"xfs", mib, 512, map[int64][]byte{0: []byte("XFSB")}, []string{"XFS filesystem at byte 0"}},
		{"btrfs", mib, 512, map[int64][]byte{65600: []byte("_BHRfS_M")}, []string{"btrfs filesystem at byte 65600"}},
		{"lvm sector 1", mib, 512, map[int64][]byte{512: []byte("LABELONE")}, []string{"LVM2 physical volume at byte 512"}},
		{"lvm sector 3", mib, 512, map[int64][]byte{1536: []byte("LABELONE")}, []string{"LVM2 physical volume at byte 1536"}},
		{"lvm sector 4 is not lvm", mib, 512, map[int64][]byte{2048: []byte("LABELONE")}, nil},
		{"md v1.1", mib, 512, map[int64][]byte{0: le32(mdMagic)}, []string{"Linux md RAID superblock v1.1 at byte 0"}},
		{"md v1.2", mib, 512, map[int64][]byte{4096: le32(mdMagic)}, []string{"Linux md RAID superblock v1.2 at byte 4096"}},
		{"md v1.0", odd, 512, map[int64][]byte{((odd/512 - 16) &^ 7) * 512: le32(mdMagic)},
			[]string{"Linux md RAID superblock v1.0 at byte 3149824"}},
		{"md v0.90", odd, 512, map[int64][]byte{3*mib - 65536: le32(mdMagic)},
			[]string{"Linux md RAID superblock v0.90 at byte 3080192"}},
		{"md magic big endian is not md", mib, 512, map[int64][]byte{4096: {0xa9, 0x2b, 0x4e, 0xfc}}, nil},
		{"gpt", mib, 512, map[int64][]byte{512: []byte("EFI PART"), mbrType(0): {0xEE}, 510: {0x55, 0xAA}},
			[]string{"GPT partition table at byte 512"}},
		{"gpt 4Kn", mib, 4096, map[int64][]byte{4096: []byte("EFI PART")}, []string{"GPT partition table at byte 4096"}},
		{"gpt 4096 on a 512 drive is not gpt", mib, 512, map[int64][]byte{4096: []byte("EFI PART")}, nil},
		{"protective mbr without gpt header", mib, 512, map[int64][]byte{mbrType(0): {0xEE}, 510: {0x55, 0xAA}},
			[]string{"protective MBR of a GPT disk at byte 510"}},
		{"mbr", mib, 512, map[int64][]byte{mbrType(1): {0x83}, 510: {0x55, 0xAA}},
			[]string{"MBR partition table at byte 510"}},
		{"hybrid mbr next to gpt", mib, 512, map[int64][]byte{512: []byte("EFI PART"), mbrType(0): {0xEE}, mbrType(1): {0x0c}, 510: {0x55, 0xAA}},
			[]string{"GPT partition table at byte 512", "MBR partition table at byte 510"}},
		{"boot signature with empty table", mib, 512, map[int64][]byte{510: {0x55, 0xAA}}, nil},
		{"partition table without boot signature", mib, 512, map[int64][]byte{mbrType(0): {0x83}}, nil},
		{"swap", mib, 512, map[int64][]byte{4086: []byte("SWAPSPACE2")}, []string{"Linux swap at byte 4086"}},
		{"old swap", mib, 512, map[int64][]byte{4086: []byte("SWAP-SPACE")}, []string{"Linux swap at byte 4086"}},
		{"swap 64k pages", mib, 512, map[int64][]byte{65526: []byte("SWAPSPACE2")}, []string{"Linux swap at byte 65526"}},
		{"luks", mib, 512, map[int64][]byte{0: []byte("LUKS\xba\xbe\x00\x02")}, []string{"LUKS encrypted volume at byte 0"}},
		{"zfs L0", mib, 512, map[int64][]byte{128<<10 + 5<<10: le64(zfsMagic)},
			[]string{"ZFS pool member (uberblock of label L0) at byte 136192"}},
		{"zfs L1 big endian", mib, 512, map[int64][]byte{256<<10 + 128<<10: be64(zfsMagic)},
			[]string{"ZFS pool member (uberblock of label L1) at byte 393216"}},
		{"zfs L3", odd, 512, map[int64][]byte{3*mib - 256<<10 + 200<<10: le64(zfsMagic)},
			[]string{"ZFS pool member (uberblock of label L3) at byte 3088384"}},
		{"zfs magic in a label's first half is not zfs", mib, 512, map[int64][]byte{4 << 10: le64(zfsMagic)}, nil},
		{"several", mib, 512, map[int64][]byte{0: []byte("XFSB"), 4096: le32(mdMagic)},
			[]string{"XFS filesystem at byte 0", "Linux md RAID superblock v1.2 at byte 4096"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := probeFile(t, tc.size, tc.lbs, tc.patches)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("signatures %q, want %q", got, tc.want)
			}
		})
	}
}

// TestProbeRealTools checks the probes against what the real tools write,
// when they are installed.
func TestProbeRealTools(t *testing.T) {
	for _, tc := range []struct {
		tool string
		args []string
		want string
	}{
		{"mke2fs", []string{"-q", "-F", "-t", "ext2"}, "ext2 filesystem at byte 1080"},
		{"mke2fs", []string{"-q", "-F", "-t", "ext3"}, "ext3 filesystem at byte 1080"},
		{"mke2fs", []string{"-q", "-F", "-t", "ext4"}, "ext4 filesystem at byte 1080"},
		{"mkswap", nil, "Linux swap at byte 4086"},
	} {
		t.Run(tc.tool+strings.Join(tc.args, ""), func(t *testing.T) {
			bin, err := exec.LookPath(tc.tool)
			if err != nil {
				t.Skip(tc.tool, "not installed")
			}
			path := filepath.Join(t.TempDir(), "img")
			writeNode(t, path, 16<<20)
			if out, err := exec.Command(bin, append(tc.args, path)...).CombinedOutput(); err != nil {
				t.Skipf("%s failed: %v: %s", tc.tool, err, out)
			}
			sigs, err := probeNode(path, 512)
			if err != nil {
				t.Fatal(err)
			}
			if len(sigs) != 1 || sigs[0].String() != tc.want {
				t.Errorf("signatures %v, want [%s]", sigs, tc.want)
			}
		})
	}
}

// failingNode is a device whose reads fail.
type failingNode struct{ size int64 }

func (f failingNode) Read([]byte) (int, error) { return 0, syscall.EIO }
func (f failingNode) Seek(off int64, whence int) (int64, error) {
	if whence == io.SeekEnd {
		return f.size + off, nil
	}
	return off, nil
}
func (f failingNode) ReadAt([]byte, int64) (int, error) { return 0, syscall.EIO }

func TestReadImageErrors(t *testing.T) {
	_, err := readImage(failingNode{size: 1 << 20})
	if !errors.Is(err, syscall.EIO) || !strings.Contains(err.Error(), "read 524288 bytes at 0") {
		t.Errorf("err = %v", err)
	}
}

func TestImageAt(t *testing.T) {
	im := &image{size: 10, head: []byte("0123456789")}
	if got := string(im.at(2, 3)); got != "234" {
		t.Errorf("at(2,3) = %q", got)
	}
	for _, c := range [][2]int64{{8, 3}, {-1, 2}, {2, -1}, {100, 1}} {
		if b := im.at(c[0], int(c[1])); b != nil {
			t.Errorf("at(%d,%d) = %q, want nil", c[0], c[1], b)
		}
	}
}
