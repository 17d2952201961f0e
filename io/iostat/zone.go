package iostat

import "github.com/plinth-storage/plinth/io/dev"

// ReportZones forwards to the inner device; it counts as Other. On a device
// that is not zoned it fails with dev.ErrNotZoned and is not counted.
func (d *Device) ReportZones(off int64, max int) ([]dev.Zone, error) {
	if d.zinner == nil {
		return nil, d.notZoned("report-zones", off)
	}
	t0 := d.start(Other)
	zs, err := d.zinner.ReportZones(off, max)
	d.done(Other, t0, 0, err)
	return zs, err
}

// ResetZone forwards to the inner device; it counts as Other.
func (d *Device) ResetZone(off int64) error {
	return d.zoneOp("reset-zone", off, func(z dev.ZonedDevice) error { return z.ResetZone(off) })
}

// OpenZone forwards to the inner device; it counts as Other.
func (d *Device) OpenZone(off int64) error {
	return d.zoneOp("open-zone", off, func(z dev.ZonedDevice) error { return z.OpenZone(off) })
}

// CloseZone forwards to the inner device; it counts as Other.
func (d *Device) CloseZone(off int64) error {
	return d.zoneOp("close-zone", off, func(z dev.ZonedDevice) error { return z.CloseZone(off) })
}

// FinishZone forwards to the inner device; it counts as Other.
func (d *Device) FinishZone(off int64) error {
	return d.zoneOp("finish-zone", off, func(z dev.ZonedDevice) error { return z.FinishZone(off) })
}

func (d *Device) zoneOp(name string, off int64, op func(dev.ZonedDevice) error) error {
	if d.zinner == nil {
		return d.notZoned(name, off)
	}
	t0 := d.start(Other)
	err := op(d.zinner)
	d.done(Other, t0, 0, err)
	return err
}

func (d *Device) notZoned(op string, off int64) error {
	return &dev.OpError{Op: op, Path: d.inner.Path(), Offset: off, Err: dev.ErrNotZoned}
}
