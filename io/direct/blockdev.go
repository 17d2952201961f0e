package direct

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/plinth-storage/plinth/io/dev"
)

// blockDevice is a raw block device opened O_DIRECT|O_EXCL.
type blockDevice struct {
	device
}

func openBlock(path string) (dev.Device, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_DIRECT|unix.O_EXCL|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.EBUSY) {
		return nil, &dev.BusyError{Path: path, Holder: blockHolder(path)}
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	geo, err := blockGeometry(fd, path)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	b := &blockDevice{device{fd: fd, path: path, geo: geo}}
	if geo.Zoned != dev.ZoneModelNone {
		return &zonedBlockDevice{blockDevice: b}, nil
	}
	return b, nil
}

// blockGeometry asks the kernel for sizes (ioctls) and the queue attributes
// the ioctls do not carry (sysfs).
func blockGeometry(fd int, path string) (dev.Geometry, error) {
	var size uint64
	if err := ioctlPtr(fd, unix.BLKGETSIZE64, unsafe.Pointer(&size)); err != nil {
		return dev.Geometry{}, fmt.Errorf("BLKGETSIZE64: %w", err)
	}
	lbs, err := unix.IoctlGetInt(fd, unix.BLKSSZGET)
	if err != nil {
		return dev.Geometry{}, fmt.Errorf("BLKSSZGET: %w", err)
	}
	pbs, err := unix.IoctlGetUint32(fd, unix.BLKPBSZGET)
	if err != nil {
		return dev.Geometry{}, fmt.Errorf("BLKPBSZGET: %w", err)
	}
	opt, err := unix.IoctlGetUint32(fd, unix.BLKIOOPT)
	if err != nil {
		return dev.Geometry{}, fmt.Errorf("BLKIOOPT: %w", err)
	}
	g := dev.Geometry{
		Size:              int64(size),
		LogicalBlockSize:  lbs,
		PhysicalBlockSize: int(pbs),
		OptimalIOSize:     int(opt),
		MemAlign:          max(lbs, dev.BufferAlign),
		DirectIO:          true,
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return dev.Geometry{}, err
	}
	queue := filepath.Join(sysRoot, "dev", "block", fmt.Sprintf("%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev)), "queue")
	g.Rotational = readSysInt(queue, "rotational") == 1
	model, _ := os.ReadFile(filepath.Join(queue, "zoned"))
	if g.Zoned, err = dev.ParseZoneModel(strings.TrimSpace(string(model))); err != nil {
		return dev.Geometry{}, fmt.Errorf("%s/zoned: %w", queue, err)
	}
	if g.Zoned != dev.ZoneModelNone {
		if err := zonedGeometry(fd, queue, &g); err != nil {
			return dev.Geometry{}, err
		}
	}
	if err := g.Validate(); err != nil {
		return dev.Geometry{}, fmt.Errorf("kernel reports an unusable geometry: %w", err)
	}
	return g, nil
}

// readSysInt reads an integer sysfs attribute, 0 when absent.
func readSysInt(dir, name string) int64 {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n
}

func ioctlPtr(fd int, req uint, p unsafe.Pointer) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(p))
	if errno != 0 {
		return errno
	}
	return nil
}

// Discard issues BLKDISCARD (TRIM/UNMAP/deallocate) for the range.
func (d *blockDevice) Discard(off, length int64) error {
	if err := dev.CheckRange(d.geo, off, length); err != nil {
		return &dev.OpError{Op: "discard", Path: d.path, Offset: off, Length: length, Err: err}
	}
	return d.withFD("discard", off, length, func(fd int) error {
		if length == 0 {
			return nil
		}
		r := [2]uint64{uint64(off), uint64(length)}
		return ioctlPtr(fd, unix.BLKDISCARD, unsafe.Pointer(&r))
	})
}

func (d *blockDevice) Close() error { return d.closeFD() }
