// Package hw is the drive inventory: it lists the block devices of this
// machine, describes each one (identity, size, zone model, block sizes) and
// says whether Plinth may take it, and if not, why.
//
// Everything comes from the kernel (sysfs and mountinfo) or from reading the
// first and last few hundred KiB of each device node and its Plinth label
// areas (at most 2 MiB). Nothing is written and
// no device is opened exclusively, so running the inventory never disturbs a
// drive that something else owns.
//
// # Which devices
//
// Every entry of /sys/block is a candidate, except RAM disks (ram*, zram*),
// the kernel's own stacked devices (dm-*, md*), optical and floppy drives
// (sr*, fd*), unconnected network block devices and unattached loop devices
// (nbd*, loop* whose size is 0), and hidden devices (/sys/block/X/hidden is 1:
// the per-path nodes of native NVMe multipath, which have no device node).
//
// # Where each fact comes from
//
// All paths are relative to /sys/block/X:
//
//	Model              device/model (for NVMe, device is the controller)
//	Serial             device/serial, else serial (virtio), else the SCSI
//	                   Unit Serial Number VPD page device/vpd_pg80
//	WWN                wwid, else device/wwid
//	Transport          the name (nvme*, vd*, loop*, nbd*, mmcblk*, xvd*),
//	                   device/transport for NVMe over fabrics, device/vendor
//	                   "ATA" for SATA behind SCSI, device/sas_address for SAS
//	Size               size, always in 512-byte sectors (mandatory)
//	Rotational         queue/rotational
//	Zoned              queue/zoned
//	ZoneSize           queue/chunk_sectors, in 512-byte sectors (zoned only)
//	NrZones            queue/nr_zones (zoned only)
//	MaxOpenZones       queue/max_open_zones (zoned only; 0 = no limit)
//	MaxActiveZones     queue/max_active_zones (zoned only; 0 = no limit)
//	LogicalBlockSize   queue/logical_block_size (mandatory)
//	PhysicalBlockSize  queue/physical_block_size
//	OptimalIOSize      queue/optimal_io_size (0 = not reported)
//
// Identity files are best effort: any of them may be missing or unreadable.
// A missing optional number reads as 0. A missing or malformed mandatory file
// (size, queue/logical_block_size), or a malformed optional number, fails
// the inventory with an error naming the file: the inventory fails when it
// cannot describe a drive, and refuses a drive when it cannot tell whether
// the drive is in use.
//
// # Refusals
//
// A drive is refused, with one human-readable reason per problem, when:
//
//   - it or one of its partitions is mounted: the major:minor in dev (and
//     X1/dev, ...) matches field 3 of /proc/self/mountinfo. Filesystems that
//     report an anonymous device number (btrfs) are not seen there; their
//     signature is.
//   - it holds partitions: subdirectories of /sys/block/X with a partition
//     file.
//   - it, or one of its partitions, has holders (holders/*: md, dm; a dm
//     holder is named with its dm/name).
//   - its device node (/dev/X, read-only, first 512 KiB and last 768 KiB)
//     carries one of these signatures, named in the reason with its offset:
//     ext2/3/4 (0xEF53 at 1080), XFS ("XFSB" at 0), btrfs ("_BHRfS_M" at
//     65600), LVM2 ("LABELONE" at the start of sector 0-3), Linux md
//     (0xa92b4efc little endian at 0, 4096, or the v1.0 and v0.90 places near
//     the end), GPT ("EFI PART" at logical block 1), MBR (0x55AA at 510 and
//     a used partition entry), swap ("SWAPSPACE2"/"SWAP-SPACE" at 4086 and
//     the other page sizes' equivalents), LUKS ("LUKS\xba\xbe" at 0), ZFS
//     (uberblock magic 0x00bab10c in any of the four vdev labels). magic.go
//     has the details.
//   - its device node cannot be read; the error is the reason.
//   - its Plinth label names another node, or this node has no UUID yet
//     (Options.ThisNode); or the label is of a newer format, damaged (no
//     valid record, but slots that start with the record magic) or cannot be
//     read. The label is read from the device node with superblock.Probe:
//     areas at bytes 0 and 1 MiB of a conventional drive, at zones 0 and 1
//     of a zoned one, up to 1 MiB each. A drive without a label is fine.
//     Options.SkipLabels leaves labels to the caller.
//   - its size is 0 (no medium, or a drive that failed to spin up), or its
//     zone model is one this package does not know.
//
// A refused drive is still listed, so that the operator sees every drive in
// the enclosure and why it was left alone.
package hw
