// Package blkzoned is Linux's zoned block device interface
// (include/uapi/linux/blkzoned.h) in Go: the ioctl argument structures, the
// ioctl request numbers, and wrappers that take a file descriptor and
// return dev.Zone values.
//
// It exists because golang.org/x/sys/unix, through which Plinth makes every
// other system call, defines none of this, and because these structures
// cross into the kernel by address: a field at the wrong offset or a
// request number with the wrong size bits does not fail to compile, it
// reads the wrong number or fails at run time on the one machine with a
// zoned drive. So every size, offset and request number here is pinned by
// tests, against literal values and, where a C compiler and the kernel
// headers are installed, against the header itself.
//
// # Units
//
// Every position and length the kernel exchanges here is in 512-byte
// sectors, whatever the logical block size of the device (a 4Kn drive still
// reports 512-byte sectors). The zone management wrappers take sectors, as
// the kernel does; ReportZones returns dev.Zone, which counts bytes. All
// integers are in host byte order.
//
// # struct blk_zone: one zone descriptor, 64 bytes
//
// 64 bytes is the size of the ZBC, ZAC and ZNS zone descriptors, so the
// reserved tail leaves room for fields those standards may add.
//
//	offset  size  field     meaning
//	     0     8  start     first sector of the zone
//	     8     8  len       zone size in sectors
//	    16     8  wp        write pointer, an absolute sector
//	    24     1  type      BLK_ZONE_TYPE_*, the values of dev.ZoneType
//	    25     1  cond      BLK_ZONE_COND_*, the values of dev.ZoneCond
//	    26     1  non_seq   host-aware only: non-sequential resources in use
//	    27     1  reset     the device recommends a reset
//	    28     4  resv      padding: puts capacity on an 8-byte boundary
//	    32     8  capacity  writable sectors from start; valid only with
//	                        BLK_ZONE_REP_CAPACITY (Linux 5.9), else zero
//	    40    24  reserved  zero
//
// The write pointer of a conventional, read-only or offline zone means
// nothing (drivers pass on what the device sent); ReportZones reports the
// zone end for it.
//
// # struct blk_zone_report: the BLKREPORTZONE argument, 16-byte header
//
//	offset  size  field     meaning
//	     0     8  sector    in: report from the zone containing this sector
//	     8     4  nr_zones  in: room in zones[]; out: descriptors filled
//	    12     4  flags     out: BLK_ZONE_REP_CAPACITY (1) if capacity is set
//	    16  64×n  zones[]   n = nr_zones struct blk_zone, back to back
//
// # struct blk_zone_range: the zone management argument, 16 bytes
//
//	offset  size  field       meaning
//	     0     8  sector      first sector of the first zone
//	     8     8  nr_sectors  sectors of whole zones to operate on
//
// Every field is naturally aligned, so no architecture inserts padding and
// the sizes above hold for 32-bit and 64-bit processes alike.
//
// # Requests
//
// The request numbers below are those of the generic ioctl encoding (x86,
// arm, arm64, riscv, s390, loongarch); MIPS, PowerPC and SPARC encode the
// direction differently and get their own values from the same definitions.
//
//	BLKREPORTZONE  _IOWR(0x12, 130, struct blk_zone_report)  0xc0101282
//	BLKRESETZONE   _IOW(0x12, 131, struct blk_zone_range)    0x40101283
//	BLKGETZONESZ   _IOR(0x12, 132, __u32)                    0x80041284
//	BLKGETNRZONES  _IOR(0x12, 133, __u32)                    0x80041285
//	BLKOPENZONE    _IOW(0x12, 134, struct blk_zone_range)    0x40101286
//	BLKCLOSEZONE   _IOW(0x12, 135, struct blk_zone_range)    0x40101287
//	BLKFINISHZONE  _IOW(0x12, 136, struct blk_zone_range)    0x40101288
//
// # Errors
//
// The wrappers return the errno wrapped with the request name, so
// errors.Is(err, unix.EINVAL) and errors.As(err, &errno) work. What the
// kernel answers:
//
//	ENOTTY        a regular file, a block device that is not zoned, or a
//	              kernel built without CONFIG_BLK_DEV_ZONED
//	EBADF         zone management on a descriptor not open for writing
//	EINVAL        a range that is not whole zones inside the device
//	ETOOMANYREFS  opening one more zone exceeds the max open zones
//	EOVERFLOW     activating one more zone exceeds the max active zones
//	EIO           any other command the drive rejects (opening a full
//	              zone, say)
//	EACCES        older kernels only: the caller lacks CAP_SYS_ADMIN
//
// Mapping these to the dev sentinel errors is the caller's business: only
// it knows the device path and the byte range to report.
package blkzoned
