package blkzoned

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ioc is the kernel's _IOC(dir, type, nr, size), built from this package's
// encoding constants.
func ioc(dir, typ, nr, size uintptr) uintptr {
	return dir<<iocDirShift | typ<<iocTypeShift | nr<<iocNRShift | size<<iocSizeShift
}

// TestIOCEncoding checks the encoding on every architecture, including
// those no test machine compiles C for: x/sys generates its request numbers
// from each architecture's own headers, so agreeing with them for one
// request of each direction proves the shifts and direction values; the
// zoned requests then differ from those only in number and size.
func TestIOCEncoding(t *testing.T) {
	sizeT := unsafe.Sizeof(uintptr(0))
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"BLKRASET = _IO(0x12, 98)", ioc(iocNone, 0x12, 98, 0), unix.BLKRASET},
		{"BLKBSZGET = _IOR(0x12, 112, size_t)", ioc(iocRead, 0x12, 112, sizeT), unix.BLKBSZGET},
		{"BLKBSZSET = _IOW(0x12, 113, size_t)", ioc(iocWrite, 0x12, 113, sizeT), unix.BLKBSZSET},
		{"FS_IOC_ADD_ENCRYPTION_KEY = _IOWR('f', 23, 80 bytes)", ioc(iocRead|iocWrite, 'f', 23, 80), unix.FS_IOC_ADD_ENCRYPTION_KEY},

		{"BLKREPORTZONE", BLKREPORTZONE, ioc(iocRead|iocWrite, 0x12, 130, unsafe.Sizeof(BlkZoneReport{}))},
		{"BLKRESETZONE", BLKRESETZONE, ioc(iocWrite, 0x12, 131, unsafe.Sizeof(BlkZoneRange{}))},
		{"BLKGETZONESZ", BLKGETZONESZ, ioc(iocRead, 0x12, 132, unsafe.Sizeof(uint32(0)))},
		{"BLKGETNRZONES", BLKGETNRZONES, ioc(iocRead, 0x12, 133, unsafe.Sizeof(uint32(0)))},
		{"BLKOPENZONE", BLKOPENZONE, ioc(iocWrite, 0x12, 134, unsafe.Sizeof(BlkZoneRange{}))},
		{"BLKCLOSEZONE", BLKCLOSEZONE, ioc(iocWrite, 0x12, 135, unsafe.Sizeof(BlkZoneRange{}))},
		{"BLKFINISHZONE", BLKFINISHZONE, ioc(iocWrite, 0x12, 136, unsafe.Sizeof(BlkZoneRange{}))},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %#x, want %#x", c.name, c.got, c.want)
		}
	}
}
