package zonemu

import (
	"sync"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/memdev"
)

// memPath is the path of every in-memory backing device of the tests.
const memPath = "mem"

// newMemDev returns a zero-filled in-memory device of size bytes with
// lbs-byte logical blocks, named memPath.
func newMemDev(size int64, lbs int) *memdev.Device { return memdev.New(memPath, size, lbs) }

// testDev is the backing store of the unit tests: the shared in-memory
// device with what the tests need and it lacks.
//
//   - Discard fills the range with 0xA5 instead of zeroing it: discarded
//     data is unspecified, and the emulator must never show it, which a
//     zeroing discard would hide from every test that resets a zone.
//   - fail, when set, can make any operation fail before it touches the
//     media; calls to it are serialized.
//   - geo, when set, replaces the geometry the device reports (the media
//     and its own checks keep the real one).
type testDev struct {
	*memdev.Device
	geo    *dev.Geometry
	fail   func(op string, off, n int64) error
	failMu sync.Mutex
}

func newTestDev(size int64, lbs int) *testDev { return &testDev{Device: newMemDev(size, lbs)} }

func (m *testDev) Geometry() dev.Geometry {
	if m.geo != nil {
		return *m.geo
	}
	return m.Device.Geometry()
}

// inject runs the fail hook, if any.
func (m *testDev) inject(op string, off, n int64) error {
	m.failMu.Lock()
	defer m.failMu.Unlock()
	if m.fail != nil {
		if err := m.fail(op, off, n); err != nil {
			return &dev.OpError{Op: op, Path: m.Path(), Offset: off, Length: n, Err: err}
		}
	}
	return nil
}

func (m *testDev) ReadAt(p []byte, off int64) (int, error) {
	if err := m.inject("read", off, int64(len(p))); err != nil {
		return 0, err
	}
	return m.Device.ReadAt(p, off)
}

func (m *testDev) WriteAt(p []byte, off int64) (int, error) {
	if err := m.inject("write", off, int64(len(p))); err != nil {
		return 0, err
	}
	return m.Device.WriteAt(p, off)
}

func (m *testDev) Flush() error {
	if err := m.inject("flush", 0, 0); err != nil {
		return err
	}
	return m.Device.Flush()
}

// discardFill is what discarded bytes read as.
const discardFill = 0xA5

func (m *testDev) Discard(off, length int64) error {
	if err := m.inject("discard", off, length); err != nil {
		return err
	}
	// memdev checks the range and the closed state, and zeroes it; the
	// fill then goes through WriteAt, under memdev's lock.
	if err := m.Device.Discard(off, length); err != nil {
		return err
	}
	buf := dev.AlignedBuffer(int(min(length, 1<<20)))
	for i := range buf {
		buf[i] = discardFill
	}
	for done := int64(0); done < length; {
		n := min(length-done, int64(len(buf)))
		if _, err := m.Device.WriteAt(buf[:n], off+done); err != nil {
			return err
		}
		done += n
	}
	return nil
}

// reopen returns an open handle on the same media, as after Close and a
// new open of the same drive; it reports the same geometry and has no fail
// hook.
func (m *testDev) reopen() *testDev { return &testDev{Device: m.Device.Reopen(), geo: m.geo} }

// media is what the tests that look at or change the media directly need
// of a backing device: a *memdev.Device or a *testDev. Callers must not
// race Bytes with IO.
type media interface {
	Bytes() []byte
	Geometry() dev.Geometry
}
