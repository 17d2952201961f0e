package blkzoned

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// wrappers calls every wrapper on fd and returns their errors by the
// request each issues.
func wrappers(fd int) map[string]error {
	_, report := ReportZones(fd, 0, 0)
	_, zoneSz := ZoneSectors(fd)
	_, nrZones := NrZones(fd)
	return map[string]error{
		"BLKREPORTZONE": report,
		"BLKRESETZONE":  ResetZone(fd, 0, 8),
		"BLKGETZONESZ":  zoneSz,
		"BLKGETNRZONES": nrZones,
		"BLKOPENZONE":   OpenZone(fd, 0, 8),
		"BLKCLOSEZONE":  CloseZone(fd, 0, 8),
		"BLKFINISHZONE": FinishZone(fd, 0, 8),
	}
}

// A regular file answers every block device ioctl with ENOTTY; the errno
// must come back intact and the message must name the request. Real zoned
// devices are exercised by the QEMU tests.
func TestWrappersOnRegularFile(t *testing.T) {
	f, err := os.OpenFile(filepath.Join(t.TempDir(), "not-a-block-device"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(1 << 20); err != nil {
		t.Fatal(err)
	}
	for req, err := range wrappers(int(f.Fd())) {
		var errno unix.Errno
		switch {
		case err == nil:
			t.Errorf("%s on a regular file succeeded", req)
		case !errors.Is(err, unix.ENOTTY):
			t.Errorf("%s on a regular file: %v, want ENOTTY", req, err)
		case !errors.As(err, &errno) || errno != unix.ENOTTY:
			t.Errorf("%s: errors.As found no unix.Errno in %v", req, err)
		case !strings.Contains(err.Error(), req):
			t.Errorf("%s: the error %q does not name the request", req, err)
		}
	}
}

func TestWrappersOnClosedDescriptor(t *testing.T) {
	for req, err := range wrappers(-1) {
		if !errors.Is(err, unix.EBADF) {
			t.Errorf("%s on fd -1: %v, want EBADF", req, err)
		}
	}
}
