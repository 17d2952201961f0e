package blkzoned

import "unsafe"

// BlkZone is struct blk_zone: one zone descriptor of a BLKREPORTZONE reply.
// Every position is in 512-byte sectors.
type BlkZone struct {
	Start    uint64   // first sector of the zone
	Len      uint64   // zone size
	Wp       uint64   // write pointer, absolute
	Type     uint8    // BLK_ZONE_TYPE_*, the values of dev.ZoneType
	Cond     uint8    // BLK_ZONE_COND_*, the values of dev.ZoneCond
	NonSeq   uint8    // host-aware only: non-sequential write resources in use
	Reset    uint8    // the device recommends resetting the zone
	Resv     [4]uint8 // padding: puts Capacity on an 8-byte boundary
	Capacity uint64   // writable sectors from Start; see BLK_ZONE_REP_CAPACITY
	Reserved [24]uint8
}

// BlkZoneReport is the fixed head of struct blk_zone_report, the argument of
// BLKREPORTZONE. In C it ends in the flexible array member
// "struct blk_zone zones[]"; Go has none, so the descriptors are laid out
// after it in the same allocation (see reportBuffer).
type BlkZoneReport struct {
	Sector  uint64 // in: the report starts with the zone containing it
	NrZones uint32 // in: room for descriptors; out: descriptors filled
	Flags   uint32 // out: BLK_ZONE_REP_* flags
}

// BlkZoneRange is struct blk_zone_range, the argument of BLKRESETZONE,
// BLKOPENZONE, BLKCLOSEZONE and BLKFINISHZONE.
type BlkZoneRange struct {
	Sector    uint64 // first sector of the first zone
	NrSectors uint64 // a whole number of zones' worth of sectors
}

// BLK_ZONE_REP_CAPACITY in BlkZoneReport.Flags says the kernel filled
// BlkZone.Capacity. Kernels before 5.9 leave both the flag and the field
// zero; the capacity is then the zone length.
const BLK_ZONE_REP_CAPACITY = 1 << 0

// The positions of the fields of an ioctl request number, as in
// include/uapi/asm-generic/ioctl.h; the widths that vary by architecture
// (iocSizeBits, iocDirBits) and the direction values come from ioc_*.go.
const (
	iocNRBits   = 8
	iocTypeBits = 8

	iocNRShift   = 0
	iocTypeShift = iocNRShift + iocNRBits
	iocSizeShift = iocTypeShift + iocTypeBits
	iocDirShift  = iocSizeShift + iocSizeBits
)

// The building blocks of _IOR, _IOW and _IOWR for the block layer's ioctl
// type 0x12 (the type of BLKGETSIZE64 and the other block device ioctls).
// Go constants cannot be computed by calling a function, so each request
// number below spells out _IOC(dir, 0x12, nr, sizeof(arg)) with these.
const (
	iocOut   uintptr = iocRead << iocDirShift              // _IOR
	iocIn    uintptr = iocWrite << iocDirShift             // _IOW
	iocInOut uintptr = (iocRead | iocWrite) << iocDirShift // _IOWR

	blkIoctlType uintptr = 0x12 << iocTypeShift

	sizeofBlkZone       = unsafe.Sizeof(BlkZone{})
	sizeofBlkZoneReport = unsafe.Sizeof(BlkZoneReport{})
	sizeofBlkZoneRange  = unsafe.Sizeof(BlkZoneRange{})
	sizeofU32           = unsafe.Sizeof(uint32(0))
)

// The zoned block device ioctl request numbers of
// include/uapi/linux/blkzoned.h. The argument size is encoded in the number
// and the kernel matches the whole number, so a struct of the wrong size
// gets ENOTTY rather than a misread argument.
const (
	// BLKREPORTZONE is _IOWR(0x12, 130, struct blk_zone_report): fill up
	// to NrZones descriptors, starting with the zone that contains Sector.
	// Linux 4.10.
	BLKREPORTZONE = iocInOut | blkIoctlType | 130<<iocNRShift | sizeofBlkZoneReport<<iocSizeShift
	// BLKRESETZONE is _IOW(0x12, 131, struct blk_zone_range): move the
	// write pointers of the zones in the range back to their starts.
	// Linux 4.10.
	BLKRESETZONE = iocIn | blkIoctlType | 131<<iocNRShift | sizeofBlkZoneRange<<iocSizeShift
	// BLKGETZONESZ is _IOR(0x12, 132, __u32): the zone size in sectors,
	// 0 for a block device that is not zoned. Linux 4.20.
	BLKGETZONESZ = iocOut | blkIoctlType | 132<<iocNRShift | sizeofU32<<iocSizeShift
	// BLKGETNRZONES is _IOR(0x12, 133, __u32): the number of zones, 0 for
	// a block device that is not zoned. Linux 4.20.
	BLKGETNRZONES = iocOut | blkIoctlType | 133<<iocNRShift | sizeofU32<<iocSizeShift
	// BLKOPENZONE is _IOW(0x12, 134, struct blk_zone_range): explicitly
	// open the zones in the range. Linux 5.5.
	BLKOPENZONE = iocIn | blkIoctlType | 134<<iocNRShift | sizeofBlkZoneRange<<iocSizeShift
	// BLKCLOSEZONE is _IOW(0x12, 135, struct blk_zone_range): close the
	// zones in the range, releasing their open resources. Linux 5.5.
	BLKCLOSEZONE = iocIn | blkIoctlType | 135<<iocNRShift | sizeofBlkZoneRange<<iocSizeShift
	// BLKFINISHZONE is _IOW(0x12, 136, struct blk_zone_range): move the
	// write pointers of the zones in the range to their ends, making them
	// full. Linux 5.5.
	BLKFINISHZONE = iocIn | blkIoctlType | 136<<iocNRShift | sizeofBlkZoneRange<<iocSizeShift
)
