package blkzoned

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/plinth-storage/plinth/io/dev"
)

// ReportZones returns up to nr zones of the zoned block device open as fd,
// starting with the zone that contains sector; nr <= 0 means every zone to
// the end of the device. Positions in the result are bytes. It returns
// fewer than nr zones only when the device ends first, however many
// BLKREPORTZONE calls that takes.
func ReportZones(fd int, sector uint64, nr int) ([]dev.Zone, error) {
	return reportZones(sector, nr, func(b *reportBuffer) error {
		err := ioctl(fd, BLKREPORTZONE, b.ptr())
		runtime.KeepAlive(b)
		return err
	})
}

// ResetZone moves the write pointers of the zones in
// [sector, sector+nrSectors) back to their starts, making them empty. The
// range must cover whole zones and fd must be open for writing.
func ResetZone(fd int, sector, nrSectors uint64) error {
	return zoneRange(fd, BLKRESETZONE, "BLKRESETZONE", sector, nrSectors)
}

// OpenZone explicitly opens the zones in [sector, sector+nrSectors). The
// range must cover whole zones and fd must be open for writing.
func OpenZone(fd int, sector, nrSectors uint64) error {
	return zoneRange(fd, BLKOPENZONE, "BLKOPENZONE", sector, nrSectors)
}

// CloseZone closes the zones in [sector, sector+nrSectors), releasing their
// open resources. The range must cover whole zones and fd must be open for
// writing.
func CloseZone(fd int, sector, nrSectors uint64) error {
	return zoneRange(fd, BLKCLOSEZONE, "BLKCLOSEZONE", sector, nrSectors)
}

// FinishZone moves the write pointers of the zones in
// [sector, sector+nrSectors) to their ends, making them full. The range must
// cover whole zones and fd must be open for writing.
func FinishZone(fd int, sector, nrSectors uint64) error {
	return zoneRange(fd, BLKFINISHZONE, "BLKFINISHZONE", sector, nrSectors)
}

// ZoneSectors returns the zone size of the block device open as fd, in
// 512-byte sectors; 0 means the block device is not zoned.
func ZoneSectors(fd int) (uint32, error) {
	return getU32(fd, BLKGETZONESZ, "BLKGETZONESZ")
}

// NrZones returns the number of zones of the block device open as fd; 0
// means the block device is not zoned.
func NrZones(fd int) (uint32, error) {
	return getU32(fd, BLKGETNRZONES, "BLKGETNRZONES")
}

func zoneRange(fd int, req uintptr, name string, sector, nrSectors uint64) error {
	r := &BlkZoneRange{Sector: sector, NrSectors: nrSectors}
	err := ioctl(fd, req, unsafe.Pointer(r))
	runtime.KeepAlive(r)
	if err != nil {
		return fmt.Errorf("ioctl %s [sector %d, +%d): %w", name, sector, nrSectors, err)
	}
	return nil
}

func getU32(fd int, req uintptr, name string) (uint32, error) {
	v := new(uint32)
	err := ioctl(fd, req, unsafe.Pointer(v))
	runtime.KeepAlive(v)
	if err != nil {
		return 0, fmt.Errorf("ioctl %s: %w", name, err)
	}
	return *v, nil
}

// ioctl issues one request and returns its errno as an error.
func ioctl(fd int, req uintptr, arg unsafe.Pointer) error {
	// The uintptr conversion must stay inside the call expression: that is
	// what keeps the Go object arg points to alive and in place until the
	// kernel is done with it. Callers still KeepAlive their argument after
	// the call, so that this holds if the conversion ever moves.
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
	if errno != 0 {
		return errno
	}
	return nil
}
