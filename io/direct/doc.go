// Package direct is the device backend for raw block devices and regular
// files: every read and write goes through O_DIRECT, straight between the
// caller's aligned buffer and the drive, with no copy in between.
//
// Ownership is exclusive. Block devices are opened with O_EXCL, which the
// kernel enforces against every other exclusive opener and against mounts;
// regular files carry an flock(LOCK_EX). A second owner gets a *dev.BusyError
// naming the holder whenever the kernel tells us who it is (sysfs holders,
// mount table, /proc/locks, or the processes with the device open).
//
// Geometry comes from the kernel: BLKGETSIZE64, BLKSSZGET, BLKPBSZGET and
// BLKIOOPT for block devices, plus the sysfs queue attributes (rotational,
// zoned, max_open_zones, max_active_zones, zone_write_granularity). Zoned
// block devices are driven through the kernel's zone ioctls (package
// blkzoned). A regular file has the logical block size its opener asks for
// (4096 by default), which must be a multiple of the filesystem's O_DIRECT
// alignment (statx STATX_DIOALIGN).
//
// Flush is fdatasync: for a block device the kernel turns it into a cache
// flush command to the drive; for a file it also makes the file's allocation
// durable.
//
// This package defines no on-disk format.
package direct
