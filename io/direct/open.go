package direct

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/plinth-storage/plinth/io/dev"
)

// DefaultFileBlockSize is the logical block size of a file-backed device when
// Options.BlockSize is zero. 4096 matches Advanced Format and ZNS drives, so
// the layers above see the same geometry on files as on modern drives.
const DefaultFileBlockSize = 4096

// Options controls Open.
type Options struct {
	// Create creates a regular file when it does not exist.
	Create bool
	// Size, for regular files, extends the file (sparsely) to at least
	// this many bytes. It never shrinks a file.
	Size int64
	// BlockSize is the logical block size of a file-backed device
	// (DefaultFileBlockSize when zero). Ignored for block devices, whose
	// block size is the kernel's.
	BlockSize int
}

// Open opens path for exclusive direct IO. A block device yields a
// dev.Device, or a dev.ZonedDevice when the kernel reports it zoned; anything
// else must be a regular file.
func Open(path string, opts Options) (dev.Device, error) {
	var st unix.Stat_t
	err := unix.Stat(path, &st)
	switch {
	case err == nil && st.Mode&unix.S_IFMT == unix.S_IFBLK:
		return openBlock(path)
	case err == nil && st.Mode&unix.S_IFMT == unix.S_IFREG:
		return openFile(path, opts)
	case err == nil:
		return nil, fmt.Errorf("open %s: not a block device or a regular file", path)
	case os.IsNotExist(err) && opts.Create:
		return openFile(path, opts)
	}
	return nil, fmt.Errorf("open %s: %w", path, err)
}
