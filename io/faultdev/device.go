package faultdev

import (
	"errors"
	"math/rand/v2"
	"sync"

	"github.com/plinth-storage/plinth/io/dev"
)

// Device is a fault-injecting wrapper around a dev.Device. Create it with
// New; the zero value is not usable.
type Device struct {
	inner  dev.Device
	zinner dev.ZonedDevice // nil when inner is not a zoned device
	geo    dev.Geometry
	seed   uint64
	zoned  bool // inner's geometry is zoned: no undo log, no torn or misdirected writes

	mu     sync.Mutex
	rng    *rand.Rand
	faults faultSet
	undo   undoLog
	power  powerState
	ops    int // mutating operations performed
	stats  Stats
	closed bool
}

var _ dev.ZonedDevice = (*Device)(nil)

// seedStream is the PCG's second seed word, fixed so that the seed alone
// decides the stream.
const seedStream = 0x9e3779b97f4a7c15

// New wraps inner (which must not be nil) with no fault armed: until a fault
// is armed the device behaves exactly like inner, apart from keeping the
// undo log that power cuts need.
func New(inner dev.Device, seed uint64) *Device {
	d := &Device{
		inner: inner,
		geo:   inner.Geometry(),
		seed:  seed,
		rng:   rand.New(rand.NewPCG(seed, seed^seedStream)),
	}
	d.zoned = d.geo.Zoned != dev.ZoneModelNone
	if z, ok := dev.AsZoned(inner); ok {
		d.zinner = z
	}
	return d
}

// Seed returns the seed the device was created with.
func (d *Device) Seed() uint64 { return d.seed }

// Geometry returns the inner device's geometry.
func (d *Device) Geometry() dev.Geometry { return d.geo }

// Path returns the inner device's path.
func (d *Device) Path() string { return d.inner.Path() }

// Close closes the inner device. It does not flush, and it does not undo
// unflushed writes: the inner device keeps them, as a drive that was shut
// down cleanly keeps its cache.
func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return d.opErr("close", 0, 0, dev.ErrClosed)
	}
	d.closed = true
	d.undo.reset()
	return d.inner.Close()
}

// Stats returns the counts of faults injected so far.
func (d *Device) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

func (d *Device) opErr(op string, off, length int64, err error) error {
	return &dev.OpError{Op: op, Path: d.inner.Path(), Offset: off, Length: length, Err: err}
}

// stateErr reports a closed or powered-off device. Called with d.mu held.
func (d *Device) stateErr(op string, off, length int64) error {
	switch {
	case d.closed:
		return d.opErr(op, off, length, dev.ErrClosed)
	case d.power.off:
		return d.opErr(op, off, length, dev.ErrPowerCut)
	}
	return nil
}

// admit lets a mutating operation run: the device must be on, and an armed
// power cut whose time has come happens instead of the operation. Called
// with d.mu held.
func (d *Device) admit(op string, off, length int64) error {
	if err := d.stateErr(op, off, length); err != nil {
		return err
	}
	if d.power.armed && d.ops >= d.power.at {
		d.power.armed = false
		if err := d.cut(d.power.mode); err != nil {
			return d.opErr(op, off, length, errors.Join(dev.ErrPowerCut, err))
		}
		return d.opErr(op, off, length, dev.ErrPowerCut)
	}
	d.ops++
	return nil
}

// chance draws whether a fault armed with rate happens. It draws nothing
// when the fault is disarmed, so arming one fault does not shift the
// decisions of the others. Called with d.mu held.
func (d *Device) chance(rate float64) bool {
	return rate > 0 && d.rng.Float64() < rate
}
