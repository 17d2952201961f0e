package zonemu

import (
	"errors"

	"github.com/plinth-storage/plinth/io/dev"
)

// Errors of this package. The zone-rule violations are the dev package's
// sentinels (dev.ErrNotAtWritePointer, dev.ErrZoneFull, ...), exactly as a
// real zoned device reports them; these three concern the emulator itself.
var (
	// ErrInvalidConfig: a Config that no drive could have (Create), or
	// one that does not suit the backing device.
	ErrInvalidConfig = errors.New("invalid zoned-emulator config")
	// ErrNotFormatted: neither metadata slot carries the magic; the
	// backing device was never formatted with Create.
	ErrNotFormatted = errors.New("not a zoned-emulator device (no metadata)")
	// ErrCorrupt: the metadata cannot be trusted: no slot passes its
	// checksum, or a slot passes its checksum but holds impossible values.
	ErrCorrupt = errors.New("corrupt zoned-emulator metadata")
)

// opErr wraps err with the operation, the device path and the byte range.
func (d *Device) opErr(op string, off, n int64, err error) error {
	return &dev.OpError{Op: op, Path: d.under.Path(), Offset: off, Length: n, Err: err}
}

// passErr returns an error from the backing device for a data transfer at
// the same offsets. It is already a *dev.OpError naming the same path and
// range when the backend follows the dev contract; otherwise it is wrapped.
func (d *Device) passErr(op string, off, n int64, err error) error {
	var oe *dev.OpError
	if errors.As(err, &oe) {
		return err
	}
	return d.opErr(op, off, n, err)
}
