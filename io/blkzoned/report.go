package blkzoned

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/plinth-storage/plinth/io/dev"
)

// sectorShift is the kernel's SECTOR_SHIFT: every position in these
// structures counts 512-byte sectors, whatever the logical block size of
// the device (a 4Kn drive still reports 512-byte sectors).
const sectorShift = 9

// maxSectors is the largest sector count whose byte count fits an int64,
// the unit of dev.Zone.
const maxSectors = math.MaxInt64 >> sectorShift

// maxReportBatch bounds the descriptors asked for in one BLKREPORTZONE call.
// ReportZones reuses one buffer for all its calls, so this caps its memory
// at 16 bytes + 4096 × 64 bytes = 256 KiB however many zones a device has
// (a 20 TB drive with 256 MiB zones has about 75 000).
const maxReportBatch = 4096

// reportBuffer is what BLKREPORTZONE reads and fills: a BlkZoneReport
// followed by room for descriptors. It is allocated as uint64 words so that
// the header and every descriptor are 8-byte aligned, as the C structures
// are, and can be read through Go pointers on any architecture.
type reportBuffer struct {
	words []uint64
	room  int // descriptors that fit after the header
}

func newReportBuffer(room int) *reportBuffer {
	size := int(sizeofBlkZoneReport) + room*int(sizeofBlkZone)
	return &reportBuffer{words: make([]uint64, size/8), room: room}
}

// ptr is the address handed to the kernel.
func (b *reportBuffer) ptr() unsafe.Pointer { return unsafe.Pointer(&b.words[0]) }

// bytes is the buffer as the kernel sees it.
func (b *reportBuffer) bytes() []byte {
	return unsafe.Slice((*byte)(b.ptr()), len(b.words)*8)
}

func (b *reportBuffer) header() *BlkZoneReport { return (*BlkZoneReport)(b.ptr()) }

// request prepares the header for a report of up to n zones from sector.
// Flags is an output, but zeroing it keeps a kernel that predates it (and
// so never writes it) from leaving a stale BLK_ZONE_REP_CAPACITY behind.
func (b *reportBuffer) request(sector uint64, n int) {
	*b.header() = BlkZoneReport{Sector: sector, NrZones: uint32(n)}
}

// decode converts the descriptors the kernel filled to dev.Zone and returns
// the sector just past the last of them, where a following report resumes.
func (b *reportBuffer) decode() (zones []dev.Zone, next uint64, err error) {
	h := b.header()
	if int64(h.NrZones) > int64(b.room) {
		return nil, 0, fmt.Errorf("BLKREPORTZONE filled %d zone descriptors into room for %d", h.NrZones, b.room)
	}
	descs := unsafe.Slice((*BlkZone)(unsafe.Add(b.ptr(), sizeofBlkZoneReport)), h.NrZones)
	hasCapacity := h.Flags&BLK_ZONE_REP_CAPACITY != 0
	zones = make([]dev.Zone, len(descs))
	for i := range descs {
		z, err := zoneFromKernel(&descs[i], hasCapacity)
		if err != nil {
			return nil, 0, fmt.Errorf("BLKREPORTZONE from sector %d, zone descriptor %d: %w", h.Sector, i, err)
		}
		zones[i] = z
		next = descs[i].Start + descs[i].Len
	}
	return zones, next, nil
}

// zoneFromKernel converts one descriptor from sectors to bytes. It rejects
// descriptors that would make a dev.Zone lie (a zone past the int64 byte
// range, of zero length, or with more capacity than length) rather than
// pass them on to code that trusts the zone's invariants.
func zoneFromKernel(k *BlkZone, hasCapacity bool) (dev.Zone, error) {
	if k.Len == 0 {
		return dev.Zone{}, fmt.Errorf("zone at sector %d has zero length", k.Start)
	}
	if k.Start > maxSectors || k.Len > maxSectors-k.Start {
		return dev.Zone{}, fmt.Errorf("zone [sector %d, +%d) lies beyond %d bytes", k.Start, k.Len, int64(math.MaxInt64))
	}
	end := k.Start + k.Len
	capacity := k.Len
	if hasCapacity {
		capacity = k.Capacity
	}
	if capacity > k.Len {
		return dev.Zone{}, fmt.Errorf("zone at sector %d has capacity %d sectors, more than its length %d", k.Start, capacity, k.Len)
	}
	wp := k.Wp
	if hasNoWritePointer(k) {
		// ZBC, ZAC and ZNS leave the write pointer of these zones
		// undefined and drivers pass on whatever arrived (null_blk sends
		// (sector_t)-1; SCSI scales a 4Kn drive's value by 8, so no single
		// sentinel can be tested for). The zone end says what is true of
		// them: nothing can be written at any write pointer.
		wp = end
	} else if wp < k.Start || wp > end {
		return dev.Zone{}, fmt.Errorf("zone [sector %d, +%d) has write pointer %d outside it", k.Start, k.Len, wp)
	}
	return dev.Zone{
		Start:        int64(k.Start << sectorShift),
		Len:          int64(k.Len << sectorShift),
		Capacity:     int64(capacity << sectorShift),
		WritePointer: int64(wp << sectorShift),
		Type:         dev.ZoneType(k.Type),
		Cond:         dev.ZoneCond(k.Cond),
	}, nil
}

// reportZones is ReportZones with the ioctl passed in as fill, so that the
// batching is independent of where the descriptors come from. fill sends
// the buffer's request to the kernel and returns its errno.
func reportZones(sector uint64, nr int, fill func(*reportBuffer) error) ([]dev.Zone, error) {
	room := maxReportBatch
	if nr > 0 && nr < room {
		room = nr
	}
	b := newReportBuffer(room)
	var zones []dev.Zone
	for nr <= 0 || len(zones) < nr {
		n := room
		if nr > 0 && nr-len(zones) < n {
			n = nr - len(zones)
		}
		b.request(sector, n)
		if err := fill(b); err != nil {
			return nil, fmt.Errorf("ioctl BLKREPORTZONE from sector %d: %w", sector, err)
		}
		batch, next, err := b.decode()
		if err != nil {
			return nil, err
		}
		if len(batch) == 0 {
			break // sector is at or past the end of the device
		}
		// The first zone contains sector, so the last one ends past it;
		// anything else would make the next request repeat this one.
		if next <= sector {
			return nil, fmt.Errorf("BLKREPORTZONE from sector %d returned zones ending at sector %d", sector, next)
		}
		zones = append(zones, batch...)
		sector = next
	}
	return zones, nil
}

// hasNoWritePointer reports a zone whose descriptor carries no meaningful
// write pointer: a conventional zone, or one the device took out of the
// write pointer state machine (read-only, offline).
func hasNoWritePointer(k *BlkZone) bool {
	if dev.ZoneType(k.Type) == dev.ZoneTypeConventional {
		return true
	}
	switch dev.ZoneCond(k.Cond) {
	case dev.ZoneCondNotWP, dev.ZoneCondReadOnly, dev.ZoneCondOffline:
		return true
	}
	return false
}
