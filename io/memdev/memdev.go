// Package memdev is a dev.Device in memory: the media of simulations and
// unit tests, where a real file would only add slowness. It follows the
// device contract exactly (alignment, range, closed state) and, like a drive
// that reports completion only once data is on the media, it makes every
// write durable at once; stack a faultdev on it to get a volatile cache and
// power cuts.
//
// This package defines no on-disk format.
package memdev

import (
	"sync"

	"github.com/plinth-storage/plinth/io/dev"
)

// Device is an in-memory drive. The zero value is not usable; call New.
type Device struct {
	mu     sync.RWMutex
	data   []byte
	geo    dev.Geometry
	path   string
	closed bool
}

// New returns a zero-filled device of size bytes with the given logical
// block size (4096 when 0).
func New(name string, size int64, blockSize int) *Device {
	if blockSize == 0 {
		blockSize = 4096
	}
	size -= size % int64(blockSize)
	return On(name, make([]byte, size), blockSize)
}

// On returns a device whose media is data, as it is (callers that reuse
// buffers clear them first), with the given logical block size (4096
// when 0); a partial last block is left out.
func On(name string, data []byte, blockSize int) *Device {
	if blockSize == 0 {
		blockSize = 4096
	}
	size := int64(len(data)) - int64(len(data))%int64(blockSize)
	return &Device{
		data: data[:size],
		path: name,
		geo: dev.Geometry{
			Size:              size,
			LogicalBlockSize:  blockSize,
			PhysicalBlockSize: blockSize,
			MemAlign:          dev.BufferAlign,
			DirectIO:          true,
		},
	}
}

// Reopen returns a new open Device over the same media, as if the drive had
// been closed and opened again. The old handle stays closed.
func (d *Device) Reopen() *Device {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return &Device{data: d.data, geo: d.geo, path: d.path}
}

// Bytes exposes the media for tests that corrupt it or compare it. Callers
// must not race it with IO.
func (d *Device) Bytes() []byte { return d.data }

func (d *Device) Path() string           { return d.path }
func (d *Device) Geometry() dev.Geometry { return d.geo }

func (d *Device) ReadAt(p []byte, off int64) (int, error) {
	if err := d.check("read", p, off); err != nil {
		return 0, err
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return 0, &dev.OpError{Op: "read", Path: d.path, Offset: off, Length: int64(len(p)), Err: dev.ErrClosed}
	}
	return copy(p, d.data[off:]), nil
}

func (d *Device) WriteAt(p []byte, off int64) (int, error) {
	if err := d.check("write", p, off); err != nil {
		return 0, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return 0, &dev.OpError{Op: "write", Path: d.path, Offset: off, Length: int64(len(p)), Err: dev.ErrClosed}
	}
	return copy(d.data[off:], p), nil
}

func (d *Device) check(op string, p []byte, off int64) error {
	if err := dev.CheckIO(d.geo, p, off); err != nil {
		return &dev.OpError{Op: op, Path: d.path, Offset: off, Length: int64(len(p)), Err: err}
	}
	return nil
}

func (d *Device) Flush() error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return &dev.OpError{Op: "flush", Path: d.path, Err: dev.ErrClosed}
	}
	return nil
}

// Discard zeroes the range, as a thin-provisioned drive would.
func (d *Device) Discard(off, length int64) error {
	if err := dev.CheckRange(d.geo, off, length); err != nil {
		return &dev.OpError{Op: "discard", Path: d.path, Offset: off, Length: length, Err: err}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return &dev.OpError{Op: "discard", Path: d.path, Offset: off, Length: length, Err: dev.ErrClosed}
	}
	clear(d.data[off : off+length])
	return nil
}

func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	return nil
}
