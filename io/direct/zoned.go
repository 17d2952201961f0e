package direct

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/plinth-storage/plinth/io/blkzoned"
	"github.com/plinth-storage/plinth/io/dev"
)

// zonedBlockDevice is a host-managed or host-aware block device (SMR, ZNS)
// driven through the kernel's zone ioctls. The kernel enforces the zone
// rules; this type converts bytes to sectors and errors to context.
type zonedBlockDevice struct {
	*blockDevice
}

const sectorSize = 512 // the kernel's zone ioctls count 512-byte sectors whatever the block size

func zonedGeometry(fd int, queue string, g *dev.Geometry) error {
	zoneSectors, err := blkzoned.ZoneSectors(fd)
	if err != nil {
		return err
	}
	nrZones, err := blkzoned.NrZones(fd)
	if err != nil {
		return err
	}
	g.ZoneSize = int64(zoneSectors) * sectorSize
	g.NrZones = int(nrZones)
	g.MaxOpenZones = int(readSysInt(queue, "max_open_zones"))
	g.MaxActiveZones = int(readSysInt(queue, "max_active_zones"))
	g.ZoneWriteGranularity = int(readSysInt(queue, "zone_write_granularity"))
	if g.ZoneWriteGranularity == 0 { // kernels before 5.12 do not export it
		g.ZoneWriteGranularity = g.LogicalBlockSize
	}
	return nil
}

func (d *zonedBlockDevice) ReportZones(off int64, max int) ([]dev.Zone, error) {
	if err := dev.CheckRange(d.geo, off, 0); err != nil {
		return nil, &dev.OpError{Op: "report-zones", Path: d.path, Offset: off, Err: err}
	}
	if max <= 0 || max > d.geo.NrZones {
		max = d.geo.NrZones
	}
	var zones []dev.Zone
	err := d.withFD("report-zones", off, 0, func(fd int) error {
		var err error
		zones, err = blkzoned.ReportZones(fd, uint64(off/sectorSize), max)
		return err
	})
	return zones, err
}

func (d *zonedBlockDevice) zoneOp(op string, off int64, fn func(fd int, sector, nrSectors uint64) error) error {
	if off < 0 || off >= d.geo.Size {
		return &dev.OpError{Op: op, Path: d.path, Offset: off,
			Err: fmt.Errorf("%w: no zone starts at %d of a %d-byte device", dev.ErrOutOfRange, off, d.geo.Size)}
	}
	if off%d.geo.ZoneSize != 0 {
		return &dev.OpError{Op: op, Path: d.path, Offset: off,
			Err: fmt.Errorf("%w: %d is not the start of a zone", dev.ErrMisaligned, off)}
	}
	return d.withFD(op, off, d.geo.ZoneSize, func(fd int) error {
		err := fn(fd, uint64(off/sectorSize), uint64(d.geo.ZoneSize/sectorSize))
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EIO) {
			return fmt.Errorf("%w: the kernel refused it: %w", dev.ErrZoneOp, err)
		}
		return zoneResourceError(err)
	})
}

// WriteAt maps the kernel's zone-resource errors to Plinth's: the block
// layer turns BLK_STS_ZONE_OPEN_RESOURCE into ETOOMANYREFS and
// BLK_STS_ZONE_ACTIVE_RESOURCE into EOVERFLOW.
func (d *zonedBlockDevice) WriteAt(p []byte, off int64) (int, error) {
	n, err := d.blockDevice.WriteAt(p, off)
	return n, zoneResourceError(err)
}

func zoneResourceError(err error) error {
	switch {
	case errors.Is(err, unix.ETOOMANYREFS):
		return fmt.Errorf("%w: %w", dev.ErrTooManyOpenZones, err)
	case errors.Is(err, unix.EOVERFLOW):
		return fmt.Errorf("%w: %w", dev.ErrTooManyActiveZones, err)
	}
	return err
}

func (d *zonedBlockDevice) ResetZone(off int64) error {
	return d.zoneOp("reset-zone", off, blkzoned.ResetZone)
}

func (d *zonedBlockDevice) OpenZone(off int64) error {
	return d.zoneOp("open-zone", off, blkzoned.OpenZone)
}

func (d *zonedBlockDevice) CloseZone(off int64) error {
	return d.zoneOp("close-zone", off, blkzoned.CloseZone)
}

func (d *zonedBlockDevice) FinishZone(off int64) error {
	return d.zoneOp("finish-zone", off, blkzoned.FinishZone)
}
