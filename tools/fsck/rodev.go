package fsck

import (
	"errors"
	"sync/atomic"

	"github.com/plinth-storage/plinth/io/dev"
)

// ErrWriteRefused: fsck's guard refused a write. Check writes nothing;
// every drive is wrapped so that a write some lower layer attempts fails
// instead of changing the drive (and is reported: it would be a bug).
var ErrWriteRefused = errors.New("fsck checks read-only: write refused")

// guard counts the writes refused on every drive of one check.
type guard struct{ refused atomic.Int64 }

// wrap returns d read-only: reads and zone reports pass, every write,
// discard and zone command fails with ErrWriteRefused, and Flush does
// nothing (nothing was written).
func (g *guard) wrap(d dev.Device) dev.Device {
	ro := roDevice{Device: d, g: g}
	if z, ok := dev.AsZoned(d); ok {
		return &roZoned{roDevice: ro, z: z}
	}
	return &ro
}

type roDevice struct {
	dev.Device
	g *guard
}

func (d *roDevice) refuse(op string, off int64) error {
	d.g.refused.Add(1)
	return &dev.OpError{Op: op, Path: d.Path(), Offset: off, Err: ErrWriteRefused}
}

func (d *roDevice) WriteAt(p []byte, off int64) (int, error) { return 0, d.refuse("write", off) }
func (d *roDevice) Flush() error                             { return nil }
func (d *roDevice) Discard(off, _ int64) error               { return d.refuse("discard", off) }

type roZoned struct {
	roDevice
	z dev.ZonedDevice
}

var _ dev.ZonedDevice = (*roZoned)(nil)

func (d *roZoned) ReportZones(off int64, max int) ([]dev.Zone, error) {
	return d.z.ReportZones(off, max)
}
func (d *roZoned) ResetZone(off int64) error  { return d.refuse("reset-zone", off) }
func (d *roZoned) OpenZone(off int64) error   { return d.refuse("open-zone", off) }
func (d *roZoned) CloseZone(off int64) error  { return d.refuse("close-zone", off) }
func (d *roZoned) FinishZone(off int64) error { return d.refuse("finish-zone", off) }
