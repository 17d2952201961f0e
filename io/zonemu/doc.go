// Package zonemu emulates a host-managed zoned drive (ZBC host-managed SMR
// or NVMe ZNS) over any conventional dev.Device, normally a sparse regular
// file. Plinth's embedded default runs on emulated SMR drives, and tests run
// on it, so it enforces what the Linux kernel and the drives enforce: code
// that passes on the emulator must pass on a real device. Where drives
// differ, the emulator takes the stricter side. The model is the kernel's
// own emulator (drivers/block/null_blk/zoned.c) and the ZBC and ZNS rules.
//
// # Zones
//
// The device is Config.NrZones zones of Config.ZoneSize bytes; the first
// Config.NrConventional are conventional (random writes anywhere, a write
// may span several), the rest sequential-write-required, of which the first
// Config.ZoneCapacity bytes are writable. A write to a sequential zone starts
// exactly at its write pointer, is a multiple of the logical block size and
// ends within the capacity; nothing is split for the caller.
//
// Reads are allowed anywhere but in offline zones. The bytes of a
// sequential zone at or past the end of its written data read as zeros,
// whatever the backing device holds, as deallocated blocks of a ZNS drive
// do; so data from before a reset, or written but not flushed before a
// power cut, is never visible.
//
// # State machine
//
// Conditions are the kernel's (dev.ZoneCond). For a sequential zone:
//
//	from \ event  write          open           close          finish     reset
//	EMPTY         IMP_OPEN [r]   EXP_OPEN [r]   error          FULL [r]   EMPTY
//	IMP_OPEN      IMP_OPEN       EXP_OPEN       CLOSED         FULL       EMPTY
//	EXP_OPEN      EXP_OPEN       EXP_OPEN       CLOSED/EMPTY*  FULL       EMPTY
//	CLOSED        IMP_OPEN [r]   EXP_OPEN [r]   CLOSED         FULL [r]   EMPTY
//	FULL          error          error          error          FULL       EMPTY
//	READONLY      error          error          error          error      error
//	OFFLINE       error          error          error          error      error
//
// A write that reaches the capacity makes the zone FULL. *A zone closed
// with nothing written becomes EMPTY. Finishing keeps the data written so
// far readable; resetting empties the zone (write pointer at its start).
// READONLY zones stay readable, OFFLINE ones are not even readable; both
// come only from InjectCondition. A command that changes nothing (reset of
// an EMPTY zone, say) is no error. The errors: dev.ErrZoneFull for a write
// to a FULL zone, dev.ErrZoneReadOnly and dev.ErrZoneOffline for anything
// but a read of a READONLY zone, dev.ErrZoneOp for any other transition
// the table does not allow and for zone commands on conventional zones.
//
// [r] needs zone resources. IMP_OPEN and EXP_OPEN zones are open; open and
// CLOSED zones are active. An EMPTY zone needs an active resource:
// dev.ErrTooManyActiveZones when Config.MaxActiveZones zones are active
// (closing zones frees none, closed zones stay active). Any of them needs
// an open resource: when Config.MaxOpenZones zones are open, BehaviorSMR
// implicitly closes the least recently written IMP_OPEN zone (ZBC), and
// BehaviorZNS fails with dev.ErrTooManyOpenZones; so does BehaviorSMR
// when every open zone is explicitly open.
//
// # Durability
//
// The emulator behaves as a drive with a volatile write cache. Writes are
// durable after Flush, and so is the zone state: Flush flushes the backing
// device, then, if the zone state changed since it was last persisted,
// writes the next metadata slot and flushes again. The state is captured
// before the first flush, so no write pointer is recorded ahead of its
// data.
//
// A zone management command (reset, open, close, finish, injected
// condition) is durable when it returns: holding the zone state still, it
// flushes the backing device, writes the slot and flushes again. Flushing
// the data first is what makes this safe: the slot records every zone's
// write pointer, not only the commanded one's, and a reset must never be
// recorded while writes from before it may still land. A side effect is
// that a zone command also makes earlier writes durable; real drives do not
// promise that, so callers must not rely on it. If persisting fails, the
// command is rolled back and returns an error; as with a drive whose
// command failed, a power cut may still find it done (the next persist
// settles it).
//
// After a power cut (or a Close without Flush) Open returns the last
// persisted state: write pointers roll back to the last Flush or zone
// command, and open zones come back CLOSED (EMPTY when nothing was
// written), as a drive does after a power cycle.
//
// # Metadata
//
// The zone state lives at the very end of the backing device, in
// MetadataSize(cfg) bytes laid out as
//
//	[zone table 0][zone table 1][header 0][header 1]   (end of device)
//
// Each header is 4096 bytes; each zone table is 8 bytes per zone, zero
// padded to a multiple of 4096. Header k and zone table k form slot k.
// Slots alternate: a persist writes the slot that does not hold the last
// durable state, with the next sequence number, table first and header
// last. Open uses the valid slot with the highest sequence number; a torn
// write fails the checksum and falls back to the other slot. All integers
// are little-endian.
//
// Header:
//
//	offset size field
//	     0    8 magic "PLZONEMU"
//	     8    4 format version, 1
//	    12    4 slot index, 0 or 1 (must match the slot's position)
//	    16    8 sequence number, incremented by every persist
//	    24    8 zone size in bytes
//	    32    8 zone capacity in bytes
//	    40    4 number of zones
//	    44    4 number of conventional zones
//	    48    4 max open zones, 0 = unlimited
//	    52    4 max active zones, 0 = unlimited
//	    56    4 logical block size, 512 or 4096
//	    60    1 behavior: 0 = SMR (implicit close), 1 = ZNS (error)
//	    61    3 reserved, zero
//	    64    8 checksum: HighwayHash-64 of header bytes [0, 64) and
//	            [72, 4096) followed by the whole zone table, keyed with
//	            the 32 ASCII bytes "plinth/zonemu metadata slot key."
//	    72 4024 zero
//
// Zone table entry i (at byte 8*i of the table):
//
//	offset size field
//	     0    1 condition, the kernel's value (dev.ZoneCond)
//	     1    3 reserved, zero
//	     4    4 logical blocks written from the zone start: the write
//	            pointer, or for FULL, READONLY and OFFLINE zones the end
//	            of the readable data
//
// Conventional zones have condition NOT_WP (0) and 0 blocks. Open and
// closed zones with nothing written are recorded EMPTY. Open trusts no
// field: a slot whose checksum matches must hold a valid config that fits
// the backing device, known conditions for each zone type, EMPTY zones at
// 0 blocks, open and closed zones strictly inside (0, capacity), the other
// zones within the capacity, no more open or active zones than the limits,
// and zeros in every reserved and padding byte; otherwise Open fails with
// ErrCorrupt, naming the field, rather than fall back to an older state.
package zonemu
