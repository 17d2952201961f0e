package initd

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// DataDir is the node's data directory in the image: the API token, the
// events journal and the console socket. It is a tmpfs: none of it
// survives a reboot.
const DataDir = "/var/lib/plinth"

// Mount is one filesystem init mounts at boot.
type Mount struct {
	Source, Target, FSType string
	Flags                  uintptr
	Data                   string
}

// BootMounts are the filesystems of step 1, in order.
var BootMounts = []Mount{
	{"proc", "/proc", "proc", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
	{"sysfs", "/sys", "sysfs", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
	{"devtmpfs", "/dev", "devtmpfs", unix.MS_NOSUID, "mode=0755"},
	{"tmpfs", "/run", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=0755"},
	{"tmpfs", "/tmp", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=1777"},
	{"tmpfs", DataDir, "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=0700"},
}

// Do mounts m, creating its directory. A filesystem already mounted there
// (EBUSY: the kernel mounted devtmpfs itself) is no error.
func (m Mount) Do() error {
	if err := os.MkdirAll(m.Target, 0o755); err != nil {
		return fmt.Errorf("mount %s on %s: %w", m.FSType, m.Target, err)
	}
	err := unix.Mount(m.Source, m.Target, m.FSType, m.Flags, m.Data)
	if err != nil && !errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("mount %s on %s: %w", m.FSType, m.Target, err)
	}
	return nil
}
