// Package faultdev wraps any dev.Device in a drive that misbehaves on
// purpose, so that Plinth can prove it never loses an acknowledged byte. The
// fault model follows TigerBeetle's storage fault model: the drive is not
// trusted to do what it says, only to do one of the things real drives are
// known to do when they fail.
//
// # Faults and what they stand for
//
//   - IO errors (FailRange, FailRate): a read, write, flush, discard or zone
//     operation fails with dev.ErrIO, which matches syscall.EIO, wrapped in a
//     *dev.OpError naming the device and range. FailRange stands for a bad
//     region of the media (latent sector errors, a worn-out erase block) that
//     fails every time; FailRate for transient failures (a controller
//     timeout, a reset link, a path going down). A failed operation moves no
//     data.
//   - Latency (Latency): each operation of a kind first sleeps base plus a
//     random jitter. It stands for fail-slow drives, garbage-collection
//     stalls and queueing, and flushes out timeouts and ordering assumptions
//     that only hold when IO is fast.
//   - Bandwidth (Bandwidth): reads and writes share one media channel of a
//     given rate; an IO of n bytes occupies it for n/rate, queued behind the
//     IOs before it. It stands for a drive's sustained media rate (or a
//     degraded, slower one), and lets emulated drives that share one host
//     disk add up as real drives do. Stats.Busy sums the time the channel
//     was occupied (utilisation is Busy over the time taken).
//   - Torn writes (TornWriteRate): only a random proper subset of the write's
//     logical blocks reaches the media; the write still reports success. A
//     multi-block write is not atomic: a drive that loses power mid-write, or
//     whose firmware drops part of a command, leaves exactly this.
//   - Misdirected writes (MisdirectRate): the write lands whole at another
//     block-aligned offset that does not overlap the intended range, which
//     keeps its old contents; the write reports success. Firmware and
//     controller bugs that write to the wrong LBA are documented in the field
//     ("An Analysis of Data Corruption in the Storage Stack", FAST '08): the
//     result is a lost write at one place and corruption at another, which
//     only a checksum bound to the block's address detects.
//   - Read bit flips (FlipOnReadRate): a read returns data with one bit
//     flipped while the media is intact. It stands for corruption in transit
//     (bad cables, controller or host memory): retrying the read succeeds.
//   - Corruption at rest (CorruptAt): one bit of the media flips. It stands
//     for bit rot and for corruption that the drive's own ECC did not catch:
//     every read returns the bad data until it is rewritten.
//   - Power cuts (PowerCut, PowerCutAfter): the drive's volatile write cache
//     is lost. With CutDrop every write not covered by a completed Flush is
//     undone, as if the cache held them all. With CutTear each unflushed write
//     independently keeps a random subset of its logical blocks: the cache
//     was partly drained, in any order, which is what drives do. Either way
//     everything a completed Flush covered survives, and the device then
//     refuses every operation with dev.ErrPowerCut until Restart.
//
// # The power model
//
// The wrapper keeps the drive's volatile cache as an undo log: before each
// write or discard reaches the inner device, the wrapper reads the range's
// previous contents (its pre-image) from the inner device and remembers it.
// A successful Flush flushes the inner device and forgets the log. A power
// cut writes pre-images back (newest first), then flushes the inner device.
// Reads always go to the inner device, which therefore always holds what a
// read of the real drive would return; read faults change only the caller's
// buffer. Torn and misdirected writes log the pre-images of the blocks they
// really wrote, so a later cut undoes them correctly.
//
// A zoned inner device gets no undo log (a sequential zone cannot be written
// behind its write pointer, so nothing could be undone, and reading past the
// write pointer is not allowed everywhere): PowerCut returns an error that
// wraps errors.ErrUnsupported, a cut armed by PowerCutAfter turns the device
// off but keeps every write (a legal outcome: the cache happened to be
// drained), and torn and misdirected writes are not injected (the zone
// rules leave no room for a silent misplacement). Errors, latency and bit
// flips work as on any device.
//
// # Determinism
//
// Every random decision comes from one PCG generator seeded from the seed
// given to New, drawn under the device's mutex, and a decision is drawn only
// when its fault is armed. The same seed and the same sequence of operations
// give the same faults, the same media and the same Stats, so a failure found
// by a randomized test is replayed from its seed.
//
// # Operations
//
// Requests are validated (dev.CheckIO, dev.CheckRange) before anything else,
// so a misaligned or out-of-range request fails exactly as on the inner
// device, draws no random number, is not counted and does not trigger an
// armed power cut. Writes, flushes, discards and zone operations (reset,
// open, close, finish) are mutating operations: Ops counts them, including
// those that fail with an injected error, and PowerCutAfter counts in them.
// Reads and zone reports are not mutating; zone reports are subject to the
// OpZone errors and latency.
//
// The device is safe for concurrent use. Operations on the inner device are
// serialized by the mutex (the undo log needs each write and its pre-image
// to be one step); latency and bandwidth waits are slept outside it, so
// delays of concurrent operations overlap as they would on a drive with a
// queue (bandwidth waits queue behind each other: the media is one).
package faultdev
