package biolat

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// DevNumber is the kernel's internal device number, major<<20 | minor
// (MKDEV), which the probes key drives by.
func DevNumber(major, minor uint32) uint32 { return major<<20 | minor&(1<<20-1) }

// DevString is "major:minor".
func DevString(dev uint32) string { return fmt.Sprintf("%d:%d", dev>>20, dev&(1<<20-1)) }

// DiskOf returns the device number of the whole disk that holds path: the
// block device itself, or for a file (an emulated drive) the disk under its
// file system. A partition maps to its disk, as the probes see requests on
// disks. sysRoot is /sys (tests point it at fixtures).
func DiskOf(path, sysRoot string) (dev uint32, name string, err error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, "", fmt.Errorf("%s: %w", path, err)
	}
	rdev := st.Dev // a file: the device of its file system
	if st.Mode&unix.S_IFMT == unix.S_IFBLK {
		rdev = st.Rdev
	}
	major, minor := unix.Major(rdev), unix.Minor(rdev)
	sys := filepath.Join(sysRoot, "dev", "block", fmt.Sprintf("%d:%d", major, minor))
	real, err := filepath.EvalSymlinks(sys)
	if err != nil {
		return 0, "", fmt.Errorf("%s: device %d:%d has no %s: %w (a file system with no block device under it?)", path, major, minor, sys, err)
	}
	if _, err := os.Stat(filepath.Join(real, "partition")); err == nil {
		real = filepath.Dir(real) // the disk holding the partition
	}
	b, err := os.ReadFile(filepath.Join(real, "dev"))
	if err != nil {
		return 0, "", fmt.Errorf("%s: %w", path, err)
	}
	maj, min, ok := strings.Cut(strings.TrimSpace(string(b)), ":")
	a, err1 := strconv.ParseUint(maj, 10, 32)
	c, err2 := strconv.ParseUint(min, 10, 32)
	if !ok || err1 != nil || err2 != nil {
		return 0, "", fmt.Errorf("%s: %s/dev says %q", path, real, b)
	}
	return DevNumber(uint32(a), uint32(c)), filepath.Base(real), nil
}
