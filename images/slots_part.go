package images

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The slots on a node: a partition.
//
// On a node the slots live on a small partition of the boot disk (or a
// small disk of its own), formatted ext4, holding DirStore's layout at its
// root:
//
//	/state.json  /a/  /b/  /lock  (and an install's leftovers, see DirStore)
//
// ext4 because the boot loader reads the kernel and initramfs from it
// (GRUB reads ext4) and because its journal makes DirStore's renames and
// fsyncs atomic and durable, which FAT's are not. Make one with
// `mkfs.ext4 -L plinth-slots DEVICE`: an empty filesystem is a store with
// nothing installed.
//
// plinth init mounts it at /run/plinth-slots (plinth.slots=DEVICE) for as
// long as the node runs. A tool given the device (plinth firmware ...
// --slots DEVICE) uses that mount when the partition is mounted already,
// and otherwise mounts it on a temporary directory for as long as it needs
// it (which takes root). Two Slots on the same filesystem exclude each other
// through DIR/lock, wherever it is mounted.

// SlotFSType is the filesystem of the slots partition.
const SlotFSType = "ext4"

// SlotMountFlags are the flags the slots partition is mounted with: it
// holds files the boot loader reads, nothing to run or open as a device.
const SlotMountFlags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC

// ErrMountNeedsRoot: the slots partition is not mounted, and mounting it
// takes root.
var ErrMountNeedsRoot = errors.New("mounting the slots partition needs root")

// PartitionStore is the slots on a partition: a DirStore on its mount.
type PartitionStore struct {
	*DirStore
	device  string
	mounted bool // by OpenPartition: Close unmounts it
}

// IsBlockDevice says whether path (symbolic links followed) is a block
// device: what plinth.slots and --slots take for the slots partition,
// anything else being a directory.
func IsBlockDevice(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode()&os.ModeDevice != 0 && st.Mode()&os.ModeCharDevice == 0
}

// OpenPartition opens the slots on a partition: where it is mounted
// already (at its root), or else mounted read-write on a new temporary
// directory until Close. Mounting fails without root (ErrMountNeedsRoot,
// saying what to do instead).
func OpenPartition(device string) (*PartitionStore, error) {
	if !IsBlockDevice(device) {
		return nil, fmt.Errorf("the slots partition %s: not a block device", device)
	}
	var st unix.Stat_t
	if err := unix.Stat(device, &st); err != nil {
		return nil, fmt.Errorf("the slots partition %s: %w", device, err)
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("finding where %s is mounted: %w", device, err)
	}
	where, found, err := findMount(f, unix.Major(st.Rdev), unix.Minor(st.Rdev))
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("finding where %s is mounted: %w", device, err)
	}
	if found {
		return &PartitionStore{DirStore: &DirStore{dir: where}, device: device}, nil
	}
	dir, err := os.MkdirTemp("", "plinth-slots-")
	if err != nil {
		return nil, err
	}
	if err := unix.Mount(device, dir, SlotFSType, SlotMountFlags, ""); err != nil {
		os.Remove(dir)
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return nil, fmt.Errorf("%w (CAP_SYS_ADMIN): %s is not mounted; run this as root, or mount it yourself (mount -t %s %s DIR) and give the directory DIR instead",
				ErrMountNeedsRoot, device, SlotFSType, device)
		}
		return nil, fmt.Errorf("mount %s (%s) on %s: %w: is it the slots partition? It is an %s filesystem (mkfs.ext4 -L plinth-slots %s makes an empty one)",
			device, SlotFSType, dir, err, SlotFSType, device)
	}
	return &PartitionStore{DirStore: &DirStore{dir: dir}, device: device, mounted: true}, nil
}

// Device is the partition.
func (p *PartitionStore) Device() string { return p.device }

// Mounted says whether OpenPartition mounted the partition (Close
// unmounts it) rather than finding it mounted.
func (p *PartitionStore) Mounted() bool { return p.mounted }

// Close unmounts the partition when OpenPartition mounted it (a sync of
// everything written, by the kernel) and removes the temporary directory.
func (p *PartitionStore) Close() error {
	if !p.mounted {
		return nil
	}
	if err := unix.Unmount(p.dir, 0); err != nil {
		return fmt.Errorf("unmounting the slots partition %s from %s: %w", p.device, p.dir, err)
	}
	p.mounted = false
	return os.Remove(p.dir)
}

// findMount reads /proc/self/mountinfo and returns where the filesystem of
// device major:minor is mounted at its root (the first such mount).
//
// A line is "ID PARENT MAJOR:MINOR ROOT MOUNTPOINT OPTIONS [OPTIONAL...] -
// FSTYPE SOURCE SUPEROPTIONS"; ROOT and MOUNTPOINT escape space, tab,
// newline and backslash as \040, \011, \012 and \134 (proc_pid_mountinfo(5)).
func findMount(mountinfo io.Reader, major, minor uint32) (mountpoint string, ok bool, err error) {
	want := fmt.Sprintf("%d:%d", major, minor)
	sc := bufio.NewScanner(mountinfo)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 {
			return "", false, fmt.Errorf("mountinfo line %q: want at least 5 fields", sc.Text())
		}
		if f[2] != want || unescapeMountinfo(f[3]) != "/" {
			continue
		}
		return unescapeMountinfo(f[4]), true, nil
	}
	return "", false, sc.Err()
}

// unescapeMountinfo turns mountinfo's \NNN (octal) escapes back into bytes.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
