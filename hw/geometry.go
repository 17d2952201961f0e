package hw

import (
	"fmt"

	"github.com/plinth-storage/plinth/io/dev"
)

// geometry fills size, rotation, zone model and block sizes. It returns an
// error for a missing mandatory file or a malformed number, and a refusal
// reason (with a nil error) for a zone model it does not know.
func geometry(d *Drive, s sysDir) (refusal string, err error) {
	if d.Size, err = s.sectors("size", true); err != nil {
		return "", err
	}
	if d.LogicalBlockSize, err = s.smallNumber("queue/logical_block_size", true); err != nil {
		return "", err
	}
	if d.PhysicalBlockSize, err = s.smallNumber("queue/physical_block_size", false); err != nil {
		return "", err
	}
	if d.OptimalIOSize, err = s.smallNumber("queue/optimal_io_size", false); err != nil {
		return "", err
	}
	rot, err := s.number("queue/rotational", false)
	if err != nil {
		return "", err
	}
	d.Rotational = rot != 0

	zoned, _, err := s.attr("queue/zoned")
	if err != nil {
		return "", err
	}
	model, perr := dev.ParseZoneModel(zoned)
	if perr != nil {
		// A zone model newer than this code: the drive may have write
		// rules we would break.
		return fmt.Sprintf("unknown zone model %q in queue/zoned", zoned), nil
	}
	d.Zoned = model
	if model == dev.ZoneModelNone {
		// chunk_sectors on a conventional device is a stripe or
		// boundary hint, not a zone size.
		return "", nil
	}
	if d.ZoneSize, err = s.sectors("queue/chunk_sectors", false); err != nil {
		return "", err
	}
	if d.NrZones, err = s.smallNumber("queue/nr_zones", false); err != nil {
		return "", err
	}
	if d.MaxOpenZones, err = s.smallNumber("queue/max_open_zones", false); err != nil {
		return "", err
	}
	if d.MaxActiveZones, err = s.smallNumber("queue/max_active_zones", false); err != nil {
		return "", err
	}
	return "", nil
}
