package devtest

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// LoopDevice attaches a loop device with direct IO (losetup --direct-io=on)
// over file, with the given logical sector size (0: the default, 512), and
// returns its path. The device is detached when t ends. Without root, without
// losetup or without loop devices, t is skipped with the reason, so tests
// that need a real block device run wherever one can be made (CI runs as
// root) and say why they did not elsewhere.
func LoopDevice(t testing.TB, file string, sectorSize int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("loop devices need root: run the tests as root to include a real block device")
	}
	losetup, err := exec.LookPath("losetup")
	if err != nil {
		t.Skip("losetup is not installed (Debian package util-linux): no loop device to test on")
	}
	args := []string{"--find", "--show", "--direct-io=on"}
	if sectorSize != 0 {
		args = append(args, "--sector-size", strconv.Itoa(sectorSize))
	}
	args = append(args, file)
	out, err := exec.Command(losetup, args...).CombinedOutput()
	if err != nil {
		t.Skipf("cannot attach a loop device (no loop driver or /dev/loop-control here?): losetup %s: %v: %s",
			strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	loop := strings.TrimSpace(string(out))
	t.Cleanup(func() {
		if out, err := exec.Command(losetup, "--detach", loop).CombinedOutput(); err != nil {
			t.Errorf("losetup --detach %s: %v: %s", loop, err, out)
		}
	})
	return loop
}
