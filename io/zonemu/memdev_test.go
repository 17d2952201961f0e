package zonemu

import (
	"sync"

	"github.com/plinth-storage/plinth/io/dev"
)

// memDev is the backing store of the unit tests: a byte slice behind the
// dev contract. Discard fills the range with 0xA5 (discarded data is
// unspecified, and the emulator must never show it). fail, when set, can
// make any operation fail before it touches the media.
type memDev struct {
	mu     sync.Mutex
	data   []byte
	geo    dev.Geometry
	closed bool
	fail   func(op string, off, n int64) error
}

func newMemDev(size int64, lbs int) *memDev {
	return &memDev{data: make([]byte, size), geo: dev.Geometry{
		Size: size, LogicalBlockSize: lbs, PhysicalBlockSize: lbs, MemAlign: lbs, DirectIO: true,
	}}
}

func (m *memDev) Path() string           { return "mem" }
func (m *memDev) Geometry() dev.Geometry { return m.geo }

func (m *memDev) check(op string, off, n int64) error {
	if m.closed {
		return &dev.OpError{Op: op, Path: "mem", Offset: off, Length: n, Err: dev.ErrClosed}
	}
	if m.fail != nil {
		if err := m.fail(op, off, n); err != nil {
			return &dev.OpError{Op: op, Path: "mem", Offset: off, Length: n, Err: err}
		}
	}
	return nil
}

func (m *memDev) ReadAt(p []byte, off int64) (int, error) {
	if err := dev.CheckIO(m.geo, p, off); err != nil {
		return 0, &dev.OpError{Op: "read", Path: "mem", Offset: off, Length: int64(len(p)), Err: err}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check("read", off, int64(len(p))); err != nil {
		return 0, err
	}
	return copy(p, m.data[off:]), nil
}

func (m *memDev) WriteAt(p []byte, off int64) (int, error) {
	if err := dev.CheckIO(m.geo, p, off); err != nil {
		return 0, &dev.OpError{Op: "write", Path: "mem", Offset: off, Length: int64(len(p)), Err: err}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check("write", off, int64(len(p))); err != nil {
		return 0, err
	}
	return copy(m.data[off:], p), nil
}

func (m *memDev) Flush() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.check("flush", 0, 0)
}

func (m *memDev) Discard(off, length int64) error {
	if err := dev.CheckRange(m.geo, off, length); err != nil {
		return &dev.OpError{Op: "discard", Path: "mem", Offset: off, Length: length, Err: err}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check("discard", off, length); err != nil {
		return err
	}
	for i := range m.data[off : off+length] {
		m.data[off+int64(i)] = 0xA5
	}
	return nil
}

func (m *memDev) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return &dev.OpError{Op: "close", Path: "mem", Err: dev.ErrClosed}
	}
	m.closed = true
	return nil
}

// reopen returns an open handle on the same media, as after Close and a
// new open of the same drive.
func (m *memDev) reopen() *memDev {
	m.mu.Lock()
	defer m.mu.Unlock()
	return &memDev{data: m.data, geo: m.geo}
}
