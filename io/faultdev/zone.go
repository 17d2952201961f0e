package faultdev

import "github.com/plinth-storage/plinth/io/dev"

// ReportZones forwards to the inner device. It is not a mutating operation
// but is subject to the OpZone errors and latency.
func (d *Device) ReportZones(off int64, max int) ([]dev.Zone, error) {
	if d.zinner == nil {
		return nil, d.opErr("report-zones", off, 0, dev.ErrNotZoned)
	}
	if err := dev.CheckRange(d.geo, off, 0); err != nil {
		return nil, d.opErr("report-zones", off, 0, err)
	}
	d.delay(OpZone)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.stateErr("report-zones", off, 0); err != nil {
		return nil, err
	}
	if d.fail(OpZone, off, d.geo.Size-off) {
		return nil, d.opErr("report-zones", off, 0, errInjected)
	}
	return d.zinner.ReportZones(off, max)
}

// ResetZone forwards to the inner device.
func (d *Device) ResetZone(off int64) error {
	return d.zoneOp("reset-zone", off, func(z dev.ZonedDevice) error { return z.ResetZone(off) })
}

// OpenZone forwards to the inner device.
func (d *Device) OpenZone(off int64) error {
	return d.zoneOp("open-zone", off, func(z dev.ZonedDevice) error { return z.OpenZone(off) })
}

// CloseZone forwards to the inner device.
func (d *Device) CloseZone(off int64) error {
	return d.zoneOp("close-zone", off, func(z dev.ZonedDevice) error { return z.CloseZone(off) })
}

// FinishZone forwards to the inner device.
func (d *Device) FinishZone(off int64) error {
	return d.zoneOp("finish-zone", off, func(z dev.ZonedDevice) error { return z.FinishZone(off) })
}

// zoneOp runs a mutating zone operation on the zone starting at off.
func (d *Device) zoneOp(name string, off int64, op func(dev.ZonedDevice) error) error {
	if d.zinner == nil {
		return d.opErr(name, off, 0, dev.ErrNotZoned)
	}
	if err := dev.CheckRange(d.geo, off, 0); err != nil {
		return d.opErr(name, off, 0, err)
	}
	d.delay(OpZone)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.admit(name, off, 0); err != nil {
		return err
	}
	if d.fail(OpZone, off, d.geo.ZoneSize) {
		return d.opErr(name, off, d.geo.ZoneSize, errInjected)
	}
	return op(d.zinner)
}
