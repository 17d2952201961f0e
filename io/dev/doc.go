// Package dev is Plinth's device abstraction: the one interface through which
// every higher layer reads and writes a drive, whatever the drive is (a raw
// block device, a regular file, the zoned-drive emulator, or a fault-injecting
// wrapper around any of these).
//
// # Contract
//
// A Device is owned exclusively by one process. All IO is direct: offsets and
// lengths are multiples of the device's logical block size and buffers are
// aligned in memory to Geometry.MemAlign (use AlignedBuffer or a BufferPool).
// Misaligned or out-of-range requests fail with ErrMisaligned or ErrOutOfRange
// before any byte moves. ReadAt and WriteAt transfer all of p or return an
// error; a short transfer is always an error.
//
// WriteAt makes no durability promise: the drive may hold the data in a
// volatile cache. Flush returns only after every write that completed before
// it was called is on stable media (fdatasync on files and block devices,
// which the kernel turns into a cache flush for the drive). Higher layers
// acknowledge nothing before a Flush.
//
// # Zones
//
// A zoned device (Geometry.Zoned != ZoneModelNone) also implements
// ZonedDevice. Its address space is a sequence of equal-size zones; the first
// zones may be conventional (random writes allowed), the rest
// sequential-write-required: writes land exactly at the zone's write pointer,
// in multiples of Geometry.ZoneWriteGranularity, and never beyond the zone's
// capacity (which may be smaller than its size). The zone types and conditions
// carry the kernel's numeric values (include/uapi/linux/blkzoned.h) so that a
// report from the kernel and one from the emulator are the same data.
//
// # On-disk format
//
// This package defines no on-disk format; it moves bytes. Formats live in the
// packages that own them (superblock, seg, ...).
package dev
