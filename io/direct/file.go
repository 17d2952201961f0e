package direct

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/plinth-storage/plinth/io/dev"
)

// fileDevice is a regular file used as a drive: the embedded default's
// backing store, tests, and the zoned emulator's media.
type fileDevice struct {
	device
}

func openFile(path string, opts Options) (dev.Device, error) {
	bs := opts.BlockSize
	if bs == 0 {
		bs = DefaultFileBlockSize
	}
	if bs < 512 || bs&(bs-1) != 0 {
		return nil, fmt.Errorf("open %s: block size %d is not a power of two of at least 512", path, bs)
	}
	flags := unix.O_RDWR | unix.O_CLOEXEC
	if opts.Create {
		flags |= unix.O_CREAT
	}
	direct := true
	fd, err := unix.Open(path, flags|unix.O_DIRECT, 0o600)
	if errors.Is(err, unix.EINVAL) {
		// The filesystem does not do O_DIRECT (tmpfs). Fall back to
		// buffered IO with fdatasync: the same contract, slower.
		direct = false
		fd, err = unix.Open(path, flags, 0o600)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	fail := func(err error) (dev.Device, error) {
		unix.Close(fd)
		return nil, err
	}
	if err := lockFile(fd, path); err != nil {
		return fail(err)
	}
	if direct {
		if align, err := dioAlign(fd); err == nil && align > bs {
			return fail(fmt.Errorf("open %s: the filesystem needs %d-byte aligned direct IO, more than the %d-byte block size", path, align, bs))
		}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fail(fmt.Errorf("open %s: %w", path, err))
	}
	size := st.Size
	if opts.Size > size {
		if err := unix.Ftruncate(fd, opts.Size); err != nil {
			return fail(fmt.Errorf("open %s: extend to %d bytes: %w", path, opts.Size, err))
		}
		size = opts.Size
	}
	size -= size % int64(bs)
	if size == 0 {
		return fail(fmt.Errorf("open %s: the file is smaller than one %d-byte block; give a size", path, bs))
	}
	d := &fileDevice{device{fd: fd, path: path, geo: dev.Geometry{
		Size:              size,
		LogicalBlockSize:  bs,
		PhysicalBlockSize: bs,
		MemAlign:          dev.BufferAlign,
		DirectIO:          direct,
	}}}
	return d, nil
}

// dioAlign asks the filesystem for its O_DIRECT offset alignment.
func dioAlign(fd int) (int, error) {
	var stx unix.Statx_t
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH, unix.STATX_DIOALIGN, &stx); err != nil {
		return 0, err
	}
	if stx.Mask&unix.STATX_DIOALIGN == 0 {
		return 0, errors.New("statx: no DIOALIGN")
	}
	return int(stx.Dio_offset_align), nil
}

// Discard punches a hole: the range reads as zeros afterwards and its space
// goes back to the filesystem (this is what keeps emulated drives sparse).
func (d *fileDevice) Discard(off, length int64) error {
	if err := dev.CheckRange(d.geo, off, length); err != nil {
		return &dev.OpError{Op: "discard", Path: d.path, Offset: off, Length: length, Err: err}
	}
	return d.withFD("discard", off, length, func(fd int) error {
		if length == 0 {
			return nil
		}
		return unix.Fallocate(fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, length)
	})
}

func (d *fileDevice) Close() error { return d.closeFD() }

// lockFile takes the exclusive flock that makes this process the file's
// only owner. flock belongs to the open file description, so two opens in
// one process exclude each other too.
func lockFile(fd int, path string) error {
	for {
		err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EWOULDBLOCK):
			return &dev.BusyError{Path: path, Holder: fileLockHolder(fd)}
		}
		return fmt.Errorf("lock %s: %w", path, err)
	}
}
