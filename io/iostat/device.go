package iostat

import (
	"sync/atomic"
	"time"

	"github.com/plinth-storage/plinth/io/dev"
)

// Device is a dev.Device that measures every operation on the device it
// wraps. It implements dev.ZonedDevice, forwarding the zone operations when
// the inner device is zoned; dev.AsZoned reports it zoned exactly when the
// inner device is, because it has the inner device's geometry. Create it with
// Wrap; it is safe for concurrent use as far as the inner device is.
type Device struct {
	inner  dev.Device
	zinner dev.ZonedDevice // nil when inner is not zoned
	geo    dev.Geometry
	clock  func() time.Duration // nil: mono; tests inject their own
	ops    [NumKinds]counters

	// inFlight counts every kind's operations under way; progress is
	// when the last one completed, or when one started with none under
	// way (mono time): Stalled compares them with the clock.
	inFlight atomic.Int64
	progress atomic.Int64
}

var _ dev.ZonedDevice = (*Device)(nil)

// counters are one kind's figures, updated with atomics only.
type counters struct {
	count, bytes, errors, inFlight, sumMicros atomic.Int64
	buckets                                   [NumBuckets]atomic.Int64
}

// epoch is the origin of mono.
var epoch = time.Now()

// mono reads the monotonic clock only: time.Since on a time with a monotonic
// reading skips the wall clock, which halves the cost of time.Now on hosts
// where reading the clock is slow (virtual machines).
func mono() time.Duration { return time.Since(epoch) }

// Wrap returns d measured. d must not be nil.
func Wrap(d dev.Device) *Device {
	return wrapClock(d, nil)
}

// wrapClock is Wrap with the clock the latencies are measured by (nil: the
// monotonic clock).
func wrapClock(d dev.Device, clock func() time.Duration) *Device {
	w := &Device{inner: d, geo: d.Geometry(), clock: clock}
	if z, ok := dev.AsZoned(d); ok {
		w.zinner = z
	}
	return w
}

// Inner returns the wrapped device.
func (d *Device) Inner() dev.Device { return d.inner }

// Snapshot returns the counters as they are now.
func (d *Device) Snapshot() Stats {
	s := Stats{Path: d.inner.Path()}
	for k := range d.ops {
		c, o := &d.ops[k], &s.Ops[k]
		o.Count = c.count.Load()
		o.Bytes = c.bytes.Load()
		o.Errors = c.errors.Load()
		o.InFlight = c.inFlight.Load()
		o.SumMicros = c.sumMicros.Load()
		for i := range c.buckets {
			o.Buckets[i] = c.buckets[i].Load()
		}
	}
	return s
}

func (d *Device) now() time.Duration {
	if d.clock == nil {
		return mono()
	}
	return d.clock()
}

// start counts an operation in flight and returns its start time.
func (d *Device) start(k Kind) time.Duration {
	d.ops[k].inFlight.Add(1)
	now := d.now()
	if d.inFlight.Add(1) == 1 {
		d.progress.Store(int64(now))
	}
	return now
}

// done counts a completed operation.
func (d *Device) done(k Kind, t0 time.Duration, n int, err error) {
	now := d.now()
	lat := now - t0
	d.progress.Store(int64(now))
	d.inFlight.Add(-1)
	c := &d.ops[k]
	c.inFlight.Add(-1)
	c.count.Add(1)
	if n > 0 {
		c.bytes.Add(int64(n))
	}
	if err != nil {
		c.errors.Add(1)
	}
	if us := lat.Microseconds(); us > 0 {
		c.sumMicros.Add(us)
	}
	c.buckets[bucketOf(lat)].Add(1)
}

// ReadAt reads from the inner device.
func (d *Device) ReadAt(p []byte, off int64) (int, error) {
	t0 := d.start(Read)
	n, err := d.inner.ReadAt(p, off)
	d.done(Read, t0, n, err)
	return n, err
}

// WriteAt writes to the inner device.
func (d *Device) WriteAt(p []byte, off int64) (int, error) {
	t0 := d.start(Write)
	n, err := d.inner.WriteAt(p, off)
	d.done(Write, t0, n, err)
	return n, err
}

// Flush flushes the inner device.
func (d *Device) Flush() error {
	t0 := d.start(Flush)
	err := d.inner.Flush()
	d.done(Flush, t0, 0, err)
	return err
}

// Discard discards on the inner device; it counts as Other.
func (d *Device) Discard(off, length int64) error {
	t0 := d.start(Other)
	err := d.inner.Discard(off, length)
	d.done(Other, t0, 0, err)
	return err
}

// Geometry returns the inner device's geometry.
func (d *Device) Geometry() dev.Geometry { return d.geo }

// Path returns the inner device's path.
func (d *Device) Path() string { return d.inner.Path() }

// Close closes the inner device. It is not measured.
func (d *Device) Close() error { return d.inner.Close() }

// Stalled returns how long operations have been under way on the device
// without any completing: 0 when none is under way. A drive that stops
// answering (a hung controller, a path gone without an error) shows here
// long before anything fails.
func (d *Device) Stalled() time.Duration {
	if d.inFlight.Load() == 0 {
		return 0
	}
	return max(0, d.now()-time.Duration(d.progress.Load()))
}
