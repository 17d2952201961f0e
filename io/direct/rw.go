package direct

import (
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/plinth-storage/plinth/io/dev"
)

// device is what block devices and files share: an fd, its geometry, and the
// read/write/flush paths. The hot path is CheckIO plus one pread or pwrite.
type device struct {
	mu   sync.RWMutex // IO holds it shared; Close exclusively, so fd is never reused under an IO
	fd   int          // -1 once closed
	path string
	geo  dev.Geometry
}

func (d *device) Path() string           { return d.path }
func (d *device) Geometry() dev.Geometry { return d.geo }

func (d *device) ReadAt(p []byte, off int64) (int, error) {
	return d.transfer("read", p, off, unix.Pread)
}

func (d *device) WriteAt(p []byte, off int64) (int, error) {
	return d.transfer("write", p, off, unix.Pwrite)
}

func (d *device) transfer(op string, p []byte, off int64, sys func(int, []byte, int64) (int, error)) (int, error) {
	if err := dev.CheckIO(d.geo, p, off); err != nil {
		return 0, &dev.OpError{Op: op, Path: d.path, Offset: off, Length: int64(len(p)), Err: err}
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.fd < 0 {
		return 0, &dev.OpError{Op: op, Path: d.path, Offset: off, Length: int64(len(p)), Err: dev.ErrClosed}
	}
	done := 0
	for done < len(p) {
		n, err := sys(d.fd, p[done:], off+int64(done))
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return done, &dev.OpError{Op: op, Path: d.path, Offset: off, Length: int64(len(p)), Err: err}
		case n == 0:
			// A read at EOF of a file the device geometry says exists:
			// somebody truncated it under us.
			return done, &dev.OpError{Op: op, Path: d.path, Offset: off, Length: int64(len(p)),
				Err: fmt.Errorf("%w: short %s (%d of %d bytes)", dev.ErrIO, op, done, len(p))}
		}
		done += n
	}
	return done, nil
}

func (d *device) Flush() error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.fd < 0 {
		return &dev.OpError{Op: "flush", Path: d.path, Err: dev.ErrClosed}
	}
	for {
		err := unix.Fdatasync(d.fd)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return &dev.OpError{Op: "flush", Path: d.path, Err: err}
		}
		return nil
	}
}

// withFD runs fn with the fd held open, or fails with ErrClosed.
func (d *device) withFD(op string, off, length int64, fn func(fd int) error) error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.fd < 0 {
		return &dev.OpError{Op: op, Path: d.path, Offset: off, Length: length, Err: dev.ErrClosed}
	}
	if err := fn(d.fd); err != nil {
		return &dev.OpError{Op: op, Path: d.path, Offset: off, Length: length, Err: err}
	}
	return nil
}

// closeFD closes the fd once; a second Close is a no-op returning nil.
func (d *device) closeFD() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fd < 0 {
		return nil
	}
	err := unix.Close(d.fd)
	d.fd = -1
	if err != nil {
		return &dev.OpError{Op: "close", Path: d.path, Err: err}
	}
	return nil
}
