package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-storage/plinth/images"
)

// firmwareFixture is what plinth firmware build needs, made small: a tiny
// static binary for plinth, a fake kernel and a fake modules directory.
type firmwareFixture struct {
	dir, binary, kernel, modules string
}

func newFirmwareFixture(t *testing.T) firmwareFixture {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command to build a test binary")
	}
	dir := t.TempDir()
	f := firmwareFixture{dir: dir, binary: filepath.Join(dir, "tiny"), kernel: filepath.Join(dir, "vmlinuz"), modules: filepath.Join(dir, "6.1.0-99-test")}
	src := filepath.Join(dir, "src")
	writeFile := func(p, data string, mode os.FileMode) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(filepath.Join(src, "main.go"), "package main\n\nfunc main() {}\n", 0o644)
	writeFile(filepath.Join(src, "go.mod"), "module tiny\n\ngo 1.22\n", 0o644)
	cmd := exec.Command("go", "build", "-o", f.binary, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building a test binary: %v\n%s", err, out)
	}
	writeFile(f.kernel, strings.Repeat("not a kernel ", 1000), 0o644)
	writeFile(filepath.Join(f.modules, "modules.dep"), "kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko\n"+
		"kernel/drivers/virtio/virtio.ko:\nkernel/drivers/scsi/scsi_debug.ko:\n", 0o644)
	for _, m := range []string{"kernel/drivers/block/virtio_blk.ko", "kernel/drivers/virtio/virtio.ko", "kernel/drivers/scsi/scsi_debug.ko"} {
		writeFile(filepath.Join(f.modules, m), "\x7fELF "+m, 0o644)
	}
	writeFile(filepath.Join(dir, "config.json"), "{}\n", 0o644)
	return f
}

// signedV1 makes a signing key (KEY.key, KEY.pub) and a bundle of version
// 1.0.0 signed with it, and returns their paths (KEY without a suffix).
func (f firmwareFixture) signedV1(t *testing.T) (key, bundle string) {
	t.Helper()
	key = filepath.Join(f.dir, "k")
	if code, out, errOut := runFirmwareCmd("firmware", "keygen", "--out", key); code != 0 {
		t.Fatalf("keygen: %d %s%s", code, out, errOut)
	}
	bundle = filepath.Join(f.dir, "v1.bundle")
	if code, out, errOut := f.build(t, "1.0.0", "0.0.0", bundle, "--source-date-epoch", "1700000000"); code != 0 {
		t.Fatalf("build: %d %s%s", code, out, errOut)
	}
	return key, bundle
}

// build runs plinth firmware build of a version.
func (f firmwareFixture) build(t *testing.T, version, minFrom, out string, extra ...string) (int, string, string) {
	t.Helper()
	args := append([]string{"firmware", "build", "--binary", f.binary, "--kernel", f.kernel, "--modules-dir", f.modules,
		"--no-default-modules", "--module", "virtio_blk", "--module", "scsi_debug zbc=host-managed dev_size_mb=256",
		"--file", filepath.Join(f.dir, "config.json") + ":/etc/plinth/config.json",
		"--key", filepath.Join(f.dir, "k.key"), "--product", images.DefaultProduct, "--version", version,
		"--min-update-from", minFrom, "-o", out}, extra...)
	return runFirmwareCmd(args...)
}

func runFirmwareCmd(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := runMain(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestFirmwareCommand(t *testing.T) {
	f := newFirmwareFixture(t)
	must := func(wantCode int, wantOut string, args ...string) string {
		t.Helper()
		code, out, errOut := runFirmwareCmd(args...)
		if code != wantCode || !strings.Contains(out+errOut, wantOut) {
			t.Fatalf("plinth %s: exit %d (want %d), no %q in:\n%s%s", strings.Join(args, " "), code, wantCode, wantOut, out, errOut)
		}
		return out
	}

	// Usage mistakes: exit 2 with what to do.
	must(2, "name a subcommand", "firmware")
	must(2, "no subcommand \"flash\"", "firmware", "flash")
	must(0, "usage: plinth firmware build [flags]", "firmware", "build", "-h")
	must(0, "mark-good", "help", "firmware")
	must(2, "--kernel is required", "firmware", "build", "--version", "1.0.0")
	must(2, "give --pub PUB and one BUNDLE", "firmware", "verify", "x")
	must(2, "flag provided but not defined", "firmware", "status", "--bogus")

	// Keys.
	key := filepath.Join(f.dir, "k")
	must(0, "wrote "+key+".key", "firmware", "keygen", "--out", key)
	must(1, "exists", "firmware", "keygen", "--out", key)
	must(0, "wrote", "firmware", "keygen", "--out", filepath.Join(f.dir, "other"))

	// Build: the epoch from the flag, then from $SOURCE_DATE_EPOCH: the same bundle.
	b1 := filepath.Join(f.dir, "v1.bundle")
	code, out, errOut := f.build(t, "1.0.0", "0.0.0", b1, "--source-date-epoch", "1700000000")
	if code != 0 || !strings.Contains(out, "bundle "+b1+": plinth-storage-node 1.0.0, kernel 6.1.0-99-test") || !strings.Contains(errOut, "writing the initramfs") {
		t.Fatalf("build: exit %d\n%s%s", code, out, errOut)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	again := filepath.Join(f.dir, "again.bundle")
	if code, out, errOut := f.build(t, "1.0.0", "0.0.0", again); code != 0 {
		t.Fatalf("build with $SOURCE_DATE_EPOCH: exit %d\n%s%s", code, out, errOut)
	}
	one, _ := os.ReadFile(b1)
	two, _ := os.ReadFile(again)
	if !bytes.Equal(one, two) {
		t.Fatal("the same inputs gave two different bundles")
	}
	if code, _, errOut := f.build(t, "1.0.0", "0.0.0", again, "--module", "zfs"); code != 1 || !strings.Contains(errOut, "zfs") || !strings.Contains(errOut, "no such kernel module") {
		t.Fatalf("build with a missing module: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := f.build(t, "1.0.0", "0.0.0", again, "--file", "nocolon"); code != 2 || !strings.Contains(errOut, "SRC:DST") {
		t.Fatalf("build with a bad --file: exit %d\n%s", code, errOut)
	}
	b2 := filepath.Join(f.dir, "v2.bundle")
	if code, out, errOut := f.build(t, "1.1.0", "0.5.0", b2); code != 0 {
		t.Fatalf("build v2: exit %d\n%s%s", code, out, errOut)
	}

	// Verify.
	pub := key + ".pub"
	out = must(0, "signature and every hash good", "firmware", "verify", "--pub", pub, "--product", images.DefaultProduct, b1)
	for _, want := range []string{"version:  1.0.0", "kernel:   6.1.0-99-test", "module:scsi_debug", "file:/etc/plinth/config.json", "2023-11-14T22:13:20Z"} {
		if !strings.Contains(out, want) {
			t.Errorf("verify output lacks %q:\n%s", want, out)
		}
	}
	must(1, "signature does not verify", "firmware", "verify", "--pub", filepath.Join(f.dir, "other.pub"), b1)
	must(1, "updates only from 0.5.0", "firmware", "verify", "--pub", pub, "--running", "0.1.0", b2)
	must(1, "older than the running", "firmware", "verify", "--pub", pub, "--running", "1.0.1", b1)
	must(1, "this node is \"gateway\"", "firmware", "verify", "--pub", pub, "--product", "gateway", b1)
	damaged := filepath.Join(f.dir, "damaged.bundle")
	one[len(one)-3000] ^= 1 // in the initramfs
	os.WriteFile(damaged, one, 0o644)
	must(1, "copy it again", "firmware", "verify", "--pub", pub, damaged)

	// Slots: apply, boot once, mark good; an update that never marks good
	// is rolled back.
	slots := filepath.Join(f.dir, "slots")
	must(0, "slot a (active): empty", "firmware", "status", "--slots", slots)
	must(1, "no firmware installed", "firmware", "boot", "--pub", pub, "--slots", slots)
	must(0, "into slot b", "firmware", "apply", "--pub", pub, "--slots", slots, b1)
	must(0, "slot b (boots once next): plinth-storage-node 1.0.0", "firmware", "status", "--slots", slots)
	out = must(0, "boot slot b (once", "firmware", "boot", "--pub", pub, "--slots", slots)
	if !strings.Contains(out, filepath.Join(slots, "b", "kernel")) || !strings.Contains(out, "console=ttyS0") {
		t.Errorf("boot output:\n%s", out)
	}
	must(0, "slot b (being tried)", "firmware", "status", "--slots", slots)
	must(0, "slot b is good and now the active slot", "firmware", "mark-good", "--slots", slots)
	must(0, "slot b (active) is good", "firmware", "mark-good", "--slots", slots)
	must(2, "one BUNDLE", "firmware", "apply", "--pub", pub, "--slots", slots, b1, b2)
	must(1, "no-such-thing", "firmware", "apply", "--pub", pub, "--slots", slots, filepath.Join(f.dir, "no-such-thing"))
	must(1, "signature does not verify", "firmware", "apply", "--pub", filepath.Join(f.dir, "other.pub"), "--slots", slots, b2)
	must(0, "into slot a", "firmware", "apply", "--pub", pub, "--slots", slots, b2)
	must(0, "boot slot a (once", "firmware", "boot", "--pub", pub, "--slots", slots)
	must(1, "is being tried", "firmware", "apply", "--pub", pub, "--slots", slots, b2)
	out = must(0, "slot a was tried and never marked good: rolled back", "firmware", "boot", "--pub", pub, "--slots", slots)
	if !strings.Contains(out, "boot slot b: plinth-storage-node 1.0.0") {
		t.Errorf("rollback boot:\n%s", out)
	}
	out = must(0, "\"active\": \"b\"", "firmware", "status", "--slots", slots, "--json")
	var st images.SlotsStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.State.LastFailed != "a" || !st.Slots[0].Installed || st.Slots[0].Version != "1.1.0" {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	must(0, "slot a (failed last time: its trial boot never marked it good", "firmware", "status", "--slots", slots)

	// The boot loader checks what it boots: a damaged trial is not tried.
	must(2, "give --pub PUB, --slots PARTITION|DIR and nothing else", "firmware", "boot", "--slots", slots)
	must(1, "signature does not verify", "firmware", "boot", "--pub", filepath.Join(f.dir, "other.pub"), "--slots", slots)
	must(0, "into slot a", "firmware", "apply", "--pub", pub, "--slots", slots, b2)
	kernel := filepath.Join(slots, "a", "kernel")
	data, err := os.ReadFile(kernel)
	if err != nil {
		t.Fatal(err)
	}
	data[100] ^= 1
	if err := os.WriteFile(kernel, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out = must(0, "not booting slot a: a part of the bundle does not match its manifest: the kernel's sha256", "firmware", "boot", "--pub", pub, "--slots", slots)
	if !strings.Contains(out, "boot slot b: plinth-storage-node 1.0.0, checked") {
		t.Errorf("boot after a damaged install:\n%s", out)
	}
	must(0, "slot a (failed last time: slot a: a part of the bundle", "firmware", "status", "--slots", slots)
	// The active slot damaged too: nothing boots, and the error says why.
	kernel = filepath.Join(slots, "b", "kernel")
	data, _ = os.ReadFile(kernel)
	data[100] ^= 1
	os.WriteFile(kernel, data, 0o644)
	must(1, "no firmware installed: no slot can be booted: slot b: a part of the bundle", "firmware", "boot", "--pub", pub, "--slots", slots)

	// A device path that is no block device is not taken for a directory.
	must(1, "not a block device", "firmware", "status", "--slots", "/dev/plinth-no-such-disk")
	if _, err := os.Stat("/dev/plinth-no-such-disk"); err == nil {
		t.Error("--slots made a directory in /dev")
	}
}

// --slots DEVICE: the slots partition, mounted for the command (as root)
// or used where it is mounted.
func TestFirmwareSlotsPartition(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: attaches a loop device and mounts it")
	}
	for _, tool := range []string{"mkfs.ext4", "losetup", "debugfs"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s (e2fsprogs, util-linux)", tool)
		}
	}
	f := newFirmwareFixture(t)
	key, bundle := f.signedV1(t)
	img := filepath.Join(f.dir, "slots.img")
	if out, err := exec.Command("mkfs.ext4", "-q", "-L", "plinth-slots", img, "32M").CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v\n%s", err, out)
	}
	attached, err := exec.Command("losetup", "--find", "--show", img).CombinedOutput()
	if err != nil {
		t.Skipf("no loop device: losetup: %v %s", err, attached)
	}
	loop := strings.TrimSpace(string(attached))
	defer exec.Command("losetup", "-d", loop).Run()

	must := func(wantCode int, wantOut string, args ...string) string {
		t.Helper()
		code, out, errOut := runFirmwareCmd(args...)
		if code != wantCode || !strings.Contains(out+errOut, wantOut) {
			t.Fatalf("plinth %s: exit %d (want %d), no %q in:\n%s%s", strings.Join(args, " "), code, wantCode, wantOut, out, errOut)
		}
		return out
	}
	pub := key + ".pub"
	must(0, "mounted the slots partition "+loop+" on ", "firmware", "apply", "--pub", pub, "--slots", loop, bundle)
	out := must(0, "boot slot b (once: trying a new install): plinth-storage-node 1.0.0, checked", "firmware", "boot", "--pub", pub, "--slots", loop)
	if !strings.Contains(out, "kernel:    /b/kernel on "+loop) {
		t.Errorf("boot from a partition mounted for the command:\n%s", out)
	}
	// Unmounted after each command: the state is in the filesystem.
	if b, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(b), loop) {
		t.Fatalf("%s is still mounted", loop)
	}
	state, err := exec.Command("debugfs", "-R", "cat /state.json", img).Output()
	if err != nil || !strings.Contains(string(state), `"tried": "b"`) {
		t.Fatalf("state.json in the filesystem: %v\n%s", err, state)
	}
	// Mounted already (as plinth init mounts it): that mount is used.
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "ext4", loop, dir).CombinedOutput(); err != nil {
		t.Fatalf("mount: %v %s", err, out)
	}
	defer exec.Command("umount", dir).Run()
	must(0, "the slots partition "+loop+" is mounted on "+dir, "firmware", "mark-good", "--slots", loop)
	out = must(0, "boot slot b: plinth-storage-node 1.0.0, checked", "firmware", "boot", "--pub", pub, "--slots", loop)
	if !strings.Contains(out, "kernel:    "+filepath.Join(dir, "b", "kernel")) {
		t.Errorf("boot from a mounted partition:\n%s", out)
	}
	must(0, "slot b (active, good)", "firmware", "status", "--slots", loop)
}
