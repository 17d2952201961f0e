package images

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestFindMount(t *testing.T) {
	const mountinfo = `22 28 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
28 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw,errors=remount-ro
40 28 8:1 /boot/sub /mnt/bind rw,relatime - ext4 /dev/sda1 rw
41 28 8:1 / /run/plinth\040slots rw,nosuid,nodev,noexec,relatime shared:30 - ext4 /dev/sda1 rw
42 28 8:1 / /mnt/second rw,relatime - ext4 /dev/sda1 rw
43 28 7:0 / /tmp/back\134slash rw - ext4 /dev/loop0 rw
`
	for _, tc := range []struct {
		major, minor uint32
		want         string
		ok           bool
	}{
		// A bind mount of a subdirectory is not the filesystem's root; the
		// first mount of the root is taken; escapes are undone.
		{8, 1, "/run/plinth slots", true},
		{8, 2, "/", true},
		{7, 0, `/tmp/back\slash`, true},
		{8, 3, "", false},
	} {
		got, ok, err := findMount(strings.NewReader(mountinfo), tc.major, tc.minor)
		if err != nil || ok != tc.ok || got != tc.want {
			t.Errorf("%d:%d: %q %v %v, want %q %v", tc.major, tc.minor, got, ok, err, tc.want, tc.ok)
		}
	}
	if _, _, err := findMount(strings.NewReader("1 2 3\n"), 8, 1); err == nil {
		t.Error("a short line was accepted")
	}
	if got := unescapeMountinfo(`a\040b\\x\12`); got != `a b\\x\12` {
		t.Errorf("unescape: %q", got)
	}
}

func TestIsBlockDevice(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	writeTestFile(t, file, []byte("x"), 0o644)
	for _, p := range []string{file, filepath.Dir(file), "/dev/null", filepath.Join(file, "missing")} {
		if IsBlockDevice(p) {
			t.Errorf("%s is a block device?", p)
		}
	}
	if _, err := OpenPartition(file); err == nil || !strings.Contains(err.Error(), "not a block device") {
		t.Errorf("OpenPartition of a file: %v", err)
	}
}

// slotPartition makes an ext4 filesystem of 64 MiB in a file and attaches
// it to a loop device, skipping without root, losetup or mkfs.ext4.
func slotPartition(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: attaches a loop device and mounts it")
	}
	for _, tool := range []string{"mkfs.ext4", "losetup"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s (e2fsprogs, util-linux)", tool)
		}
	}
	img := filepath.Join(t.TempDir(), "slots.img")
	if out, err := exec.Command("mkfs.ext4", "-q", "-L", "plinth-slots", img, "64M").CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v\n%s", err, out)
	}
	out, err := exec.Command("losetup", "--find", "--show", img).CombinedOutput()
	if err != nil {
		t.Skipf("no loop device: losetup: %v %s", err, out)
	}
	loop := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command("losetup", "-d", loop).Run() })
	return loop
}

func TestPartitionStore(t *testing.T) {
	loop := slotPartition(t)
	if !IsBlockDevice(loop) {
		t.Fatalf("%s is not a block device", loop)
	}
	// Not mounted: mounted on a temporary directory until Close.
	p, err := OpenPartition(loop)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Mounted() || p.Device() != loop {
		t.Fatalf("store %+v", p)
	}
	mnt := p.Dir()
	s := NewSlots(p)
	if _, err := s.Apply(versionBundle(t, "1.0.0", "0.0.0"), slotPub, ""); err != nil {
		t.Fatal(err)
	}
	boot(t, s, SlotB)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(mnt); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the temporary mount point is left: %v", err)
	}

	// Mounted (as plinth init mounts it): that mount is used, and stays.
	dir := t.TempDir()
	if err := unix.Mount(loop, dir, SlotFSType, SlotMountFlags, ""); err != nil {
		t.Fatal(err)
	}
	defer unix.Unmount(dir, 0)
	p, err = OpenPartition(loop)
	if err != nil {
		t.Fatal(err)
	}
	if p.Mounted() || p.Dir() != dir {
		t.Fatalf("store %+v, want the mount at %s", p, dir)
	}
	// What the first store wrote is there.
	if _, _, err := NewSlots(p).MarkGood(); err != nil {
		t.Fatal(err)
	}
	wantState(t, NewSlots(p), SlotB, "", "", SlotB)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "state.json")); err != nil {
		t.Fatalf("Close unmounted a mount it did not make: %v", err)
	}
}

func TestPartitionStoreNotExt4(t *testing.T) {
	loop := slotPartition(t)
	// A partition holding no filesystem: the mount fails, saying what the
	// slots partition is.
	f, err := os.OpenFile(loop, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(make([]byte, 64<<10), 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := OpenPartition(loop); err == nil || !strings.Contains(err.Error(), "mkfs.ext4 -L plinth-slots") {
		t.Fatalf("OpenPartition of a blank device: %v", err)
	}
}

// Without root, a partition that is not mounted is refused with what to do
// instead. The test runs itself again as nobody.
func TestPartitionStoreNeedsRoot(t *testing.T) {
	if dev := os.Getenv("PLINTH_TEST_SLOTS_DEVICE"); dev != "" {
		_, err := OpenPartition(dev)
		if !errors.Is(err, ErrMountNeedsRoot) || !strings.Contains(err.Error(), "mount -t ext4 "+dev+" DIR") {
			t.Fatalf("OpenPartition as uid %d: %v", os.Geteuid(), err)
		}
		return
	}
	loop := slotPartition(t)
	// The test binary, where nobody may run it.
	dir, err := os.MkdirTemp("", "plinth-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "images.test")
	writeTestFile(t, bin, self, 0o755)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run", "^TestPartitionStoreNeedsRoot$", "-test.v")
	cmd.Env = append(os.Environ(), "PLINTH_TEST_SLOTS_DEVICE="+loop, "TMPDIR="+os.TempDir())
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
}
