package zonemu

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/plinth-storage/plinth/io/dev"
)

// Device is a host-managed zoned drive emulated over a conventional
// dev.Device. It implements dev.ZonedDevice and is safe for concurrent use.
//
// Locking: zl[z] serializes writes and zone management commands on zone z
// (a write holds it while its data transfers, so a reset cannot overtake
// it); pmu serializes persists; mu guards the zone states and counters and
// is held only briefly, except by zone management commands, which hold it
// until their state is persisted. Lock order: zl[z], pmu, mu.
type Device struct {
	under   dev.Device
	cfg     Config
	geo     dev.Geometry
	convEnd int64 // end of the conventional zones
	closed  atomic.Bool

	zl  []sync.Mutex
	pmu sync.Mutex
	mu  sync.Mutex

	// Guarded by mu.
	zones    []zoneState
	nrOpen   int              // implicitly and explicitly open zones
	nrActive int              // open and closed zones
	impOpen  map[int]struct{} // implicitly open zones
	tick     uint64           // last-use clock for the LRU implicit close
	version  uint64           // bumped on every zone state change
	// persisted is the version of the durable slot. Written under pmu and
	// mu, so holding either is enough to read it.
	persisted uint64

	// Guarded by pmu.
	durableSlot int    // slot holding the last state known durable
	durableSeq  uint64 // its sequence number
	hdrBuf      []byte // header and table images for the next slot write
	tableBuf    []byte
}

var _ dev.ZonedDevice = (*Device)(nil)

// newDevice builds a Device for a config already validated against under.
func newDevice(under dev.Device, cfg Config, zones []zoneState) *Device {
	ug := under.Geometry()
	d := &Device{
		under:   under,
		cfg:     cfg,
		convEnd: int64(cfg.NrConventional) * cfg.ZoneSize,
		zl:      make([]sync.Mutex, cfg.NrZones),
		zones:   zones,
		impOpen: make(map[int]struct{}),
		hdrBuf:  dev.AlignedBuffer(headerSize),
	}
	d.tableBuf = dev.AlignedBuffer(int(tableSize(cfg.NrZones)))
	d.geo = dev.Geometry{
		Size:                 cfg.zoneArea(),
		LogicalBlockSize:     cfg.LogicalBlockSize,
		PhysicalBlockSize:    max(ug.PhysicalBlockSize, cfg.LogicalBlockSize),
		OptimalIOSize:        ug.OptimalIOSize,
		MemAlign:             ug.MemAlign,
		DirectIO:             ug.DirectIO,
		Rotational:           ug.Rotational,
		Zoned:                dev.ZoneModelHostManaged,
		ZoneSize:             cfg.ZoneSize,
		NrZones:              cfg.NrZones,
		MaxOpenZones:         cfg.MaxOpenZones,
		MaxActiveZones:       cfg.MaxActiveZones,
		ZoneWriteGranularity: cfg.LogicalBlockSize,
	}
	for z, s := range zones {
		if s.cond.IsOpen() {
			d.nrOpen++
		}
		if s.cond.IsActive() {
			d.nrActive++
		}
		if s.cond == dev.ZoneCondImpOpen {
			d.impOpen[z] = struct{}{}
		}
	}
	return d
}

// Config returns the configuration the device was created with.
func (d *Device) Config() Config { return d.cfg }

// Geometry describes the emulated drive: NrZones*ZoneSize bytes,
// host-managed, zone write granularity LogicalBlockSize; block sizes,
// memory alignment and the direct-IO and rotational flags come from the
// backing device.
func (d *Device) Geometry() dev.Geometry { return d.geo }

// Path is the backing device's path.
func (d *Device) Path() string { return d.under.Path() }

// Close closes the backing device. Like any dev.Device it does not flush:
// what was not flushed is lost, and the zones come back as they were at
// the last Flush or zone management command, as after a power cut.
func (d *Device) Close() error {
	if d.closed.Swap(true) {
		return d.opErr("close", 0, 0, dev.ErrClosed)
	}
	return d.under.Close()
}

// ReportZones returns up to max zones (all remaining when max <= 0)
// starting with the zone that contains off. Full, read-only and offline
// zones report their write pointer at the zone end, as the kernel does for
// full zones; conventional zones too.
func (d *Device) ReportZones(off int64, max int) ([]dev.Zone, error) {
	if d.closed.Load() {
		return nil, d.opErr("report-zones", off, 0, dev.ErrClosed)
	}
	if off < 0 || off >= d.geo.Size {
		return nil, d.opErr("report-zones", off, 0, fmt.Errorf("%w: offset %d outside the device [0, %d)", dev.ErrOutOfRange, off, d.geo.Size))
	}
	first := int(off / d.cfg.ZoneSize)
	n := d.cfg.NrZones - first
	if max > 0 && max < n {
		n = max
	}
	out := make([]dev.Zone, n)
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range out {
		out[i] = d.report(first + i)
	}
	return out, nil
}

// report describes zone z. mu must be held.
func (d *Device) report(z int) dev.Zone {
	start := int64(z) * d.cfg.ZoneSize
	r := dev.Zone{Start: start, Len: d.cfg.ZoneSize, Capacity: d.cfg.ZoneCapacity, WritePointer: start + d.cfg.ZoneSize, Type: dev.ZoneTypeSeqWriteRequired}
	if z < d.cfg.NrConventional {
		r.Capacity, r.Type, r.Cond = d.cfg.ZoneSize, dev.ZoneTypeConventional, dev.ZoneCondNotWP
		return r
	}
	s := d.zones[z]
	r.Cond = s.cond
	switch s.cond {
	case dev.ZoneCondFull, dev.ZoneCondReadOnly, dev.ZoneCondOffline:
	default:
		r.WritePointer = start + s.wp
	}
	return r
}
