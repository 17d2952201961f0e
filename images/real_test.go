package images

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// installedKernel finds a kernel image with its modules on this machine
// (Debian's linux-image-amd64: /boot/vmlinuz-KVER and /lib/modules/KVER).
func installedKernel(t *testing.T) (kernel, modulesDir string) {
	t.Helper()
	images, _ := filepath.Glob("/boot/vmlinuz-*")
	for _, k := range images {
		kver := strings.TrimPrefix(filepath.Base(k), "vmlinuz-")
		dir := filepath.Join("/lib/modules", kver)
		if _, err := os.Stat(filepath.Join(dir, "modules.dep")); err != nil {
			continue
		}
		if f, err := os.Open(k); err != nil {
			continue // not readable by this user
		} else {
			f.Close()
		}
		return k, dir
	}
	t.Skip("no installed kernel with modules (/boot/vmlinuz-KVER and /lib/modules/KVER/modules.dep; .ci/run installs linux-image-amd64)")
	return "", ""
}

// TestBuildInstalledKernel builds a bundle from the machine's kernel with
// the default modules and checks the dependencies were resolved from its
// modules.dep and the load order puts them first.
func TestBuildInstalledKernel(t *testing.T) {
	kernel, modulesDir := installedKernel(t)
	m, bundle := buildTest(t, func(o *BuildOptions) {
		o.Kernel, o.ModulesDir = kernel, modulesDir
		o.Modules = MergeModules(DefaultModules(), []ModuleSpec{{Name: "scsi_debug", Params: []string{"zbc=host-managed"}}})
		o.Files = nil
	})
	if _, err := Verify(bundle, testKey(1).Public().(ed25519.PublicKey), DefaultProduct, ""); err != nil {
		t.Fatal(err)
	}
	kver := filepath.Base(modulesDir)
	if m.Kernel.Version != kver {
		t.Fatalf("kernel version %q, want %q", m.Kernel.Version, kver)
	}
	if release, ok, err := bzImageVersion(kernel); err != nil || !ok || release != kver {
		t.Errorf("the bzImage says %q (%v, %v), the modules %q", release, ok, err, kver)
	}
	b, err := Open(bundle)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var order []string // kernel module names, in load order
	for _, p := range m.Parts {
		if name, ok := strings.CutPrefix(p.Name, "module:"); ok && p.Size < 4 {
			t.Errorf("module %s is %d bytes", name, p.Size)
		}
	}
	orderPart := m.Part("module-order")
	if orderPart == nil {
		t.Fatal("no module-order part")
	}
	lines := loadOrderOf(t, b)
	for _, l := range lines {
		f := strings.Fields(l)
		if !strings.HasPrefix(f[0], "/lib/modules/"+kver+"/kernel/") || !strings.HasSuffix(f[0], ".ko") {
			t.Errorf("load order line %q", l)
		}
		order = append(order, moduleFileName(f[0]))
		if m.Part("module:"+moduleFileName(f[0])) == nil {
			t.Errorf("%s is loaded but not a part", f[0])
		}
	}
	before := func(dep, mod string) {
		t.Helper()
		i, j := slices.Index(order, dep), slices.Index(order, mod)
		if i < 0 || j < 0 || i > j {
			t.Errorf("%s (at %d) does not load before %s (at %d): %q", dep, i, mod, j, order)
		}
	}
	before("nvme_core", "nvme")
	before("scsi_mod", "sd_mod")
	before("scsi_common", "scsi_mod")
	before("virtio", "virtio_blk")
	before("virtio_ring", "virtio_pci")
	before("scsi_mod", "scsi_debug")
	if m.Part("module:ses") != nil {
		before("enclosure", "ses")
	}
	if !strings.Contains(strings.Join(lines, "\n"), "scsi_debug.ko zbc=host-managed") {
		t.Errorf("scsi_debug's parameters are not in the load order:\n%s", strings.Join(lines, "\n"))
	}
	t.Logf("%d modules loaded at boot: %s", len(order), strings.Join(order, " "))
}

// loadOrderOf reads /etc/plinth/modules out of a bundle's initramfs.
func loadOrderOf(t *testing.T, b *Bundle) []string {
	t.Helper()
	dir := t.TempDir()
	initrd := filepath.Join(dir, "initrd")
	if err := b.ExtractInitramfs(initrd); err != nil {
		t.Fatal(err)
	}
	// The kernel's way of reading it: gunzip | cpio -i, when cpio is here.
	if _, err := exec.LookPath("cpio"); err != nil {
		t.Skip("needs cpio(1) to unpack the initramfs as the kernel would")
	}
	root := filepath.Join(dir, "root")
	os.Mkdir(root, 0o755)
	cmd := exec.Command("sh", "-c", "gzip -dc "+initrd+" | cpio -i --quiet --no-absolute-filenames --make-directories etc/plinth/modules bin/plinth")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("unpacking with cpio(1): %v\n%s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(root, "etc/plinth/modules"))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(filepath.Join(root, "bin/plinth")).Output(); err != nil || string(out) != "tiny\n" {
		t.Errorf("/bin/plinth unpacked by cpio(1) does not run: %q %v", out, err)
	}
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}

// TestBuildPlinthReproducible builds the real plinth twice into two
// directories and the whole bundle twice, from this source tree, and checks
// both come out byte for byte the same.
func TestBuildPlinthReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("builds plinth four times (about a minute or more): not with -short")
	}
	root := FindModuleRoot(".")
	if root == "" {
		t.Fatal("the test does not run inside plinth's source tree")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	var bins [][]byte
	for _, dir := range []string{t.TempDir(), t.TempDir()} {
		out := filepath.Join(dir, "plinth")
		if err := BuildBinary(ctx, root, out, "1.2.0", testEpoch, DefaultArch, nil); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		bins = append(bins, data)
		if len(bins) == 1 {
			got, err := exec.Command(out, "version").Output()
			if err != nil {
				t.Fatalf("plinth version: %v", err)
			}
			if !strings.Contains(string(got), "plinth 1.2.0\n") || !strings.Contains(string(got), "2023-11-14T22:13:20Z") {
				t.Errorf("plinth version says:\n%s", got)
			}
		}
	}
	if !bytes.Equal(bins[0], bins[1]) {
		t.Fatal("two builds of plinth from the same source differ")
	}

	var bundles [][]byte
	var manifests []*Manifest
	for range 2 {
		m, bundle := buildTest(t, func(o *BuildOptions) { o.Binary, o.Source = "", root })
		data, err := os.ReadFile(bundle)
		if err != nil {
			t.Fatal(err)
		}
		bundles, manifests = append(bundles, data), append(manifests, m)
	}
	if !bytes.Equal(bundles[0], bundles[1]) {
		t.Fatalf("two bundles from the same inputs differ:\n%+v\n%+v", manifests[0], manifests[1])
	}
	sum := sha256.Sum256(bins[0])
	if p := manifests[0].Part(PartPlinth); p == nil || p.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("the bundle's plinth %+v is not the binary built alone (%d bytes)", p, len(bins[0]))
	}
	if manifests[0].Build.GoVersion == "" || manifests[0].Version != "1.2.0" {
		t.Errorf("build info %+v", manifests[0].Build)
	}
	t.Logf("plinth %d bytes, bundle %d bytes, revision %q", len(bins[0]), len(bundles[0]), manifests[0].Build.SourceRevision)
}

// qemuInit is the /init of TestBootInQEMU: it says it runs, loads the
// modules of /etc/plinth/modules in order with their parameters, as plinth
// init will, and powers the machine off.
const qemuInit = `package main

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"unsafe"
)

func main() {
	fmt.Println("QEMU-INIT running as", os.Args[0], "pid", os.Getpid())
	if st, err := os.Stat("/dev/console"); err == nil {
		fmt.Println("QEMU-INIT console", st.Mode())
	}
	data, err := os.ReadFile("/etc/plinth/modules")
	if err != nil {
		fmt.Println("QEMU-INIT FAILED reading the load order:", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(line)
		fd, err := syscall.Open(f[0], syscall.O_RDONLY, 0)
		if err != nil {
			fmt.Println("QEMU-INIT FAILED", f[0], err)
			continue
		}
		params, _ := syscall.BytePtrFromString(strings.Join(f[1:], " "))
		const sysFinitModule = 313 // amd64
		if _, _, errno := syscall.Syscall(sysFinitModule, uintptr(fd), uintptr(unsafe.Pointer(params)), 0); errno != 0 {
			fmt.Println("QEMU-INIT FAILED", f[0], errno)
		} else {
			fmt.Println("QEMU-INIT loaded", f[0])
		}
		syscall.Close(fd)
	}
	fmt.Println("QEMU-INIT done")
	syscall.Sync()
	syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
}
`

// TestBootInQEMU boots a bundle built from this machine's kernel under
// QEMU (software emulation) with a stand-in /init that loads every module
// of the load order: the kernel unpacks the initramfs, runs /init through
// its symlink, finds /dev/console, and accepts every module with its
// parameters in that order.
func TestBootInQEMU(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a VM under software emulation (about 10 seconds): not with -short")
	}
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Skip("needs qemu-system-x86_64 (.ci/run installs qemu-system-x86)")
	}
	kernel, modulesDir := installedKernel(t)
	src := t.TempDir()
	writeTestFile(t, filepath.Join(src, "main.go"), []byte(qemuInit), 0o644)
	writeTestFile(t, filepath.Join(src, "go.mod"), []byte("module qemuinit\n\ngo 1.22\n"), 0o644)
	initBin := filepath.Join(src, "init")
	build := exec.Command("go", "build", "-o", initBin, ".")
	build.Dir = src
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the stand-in init: %v\n%s", err, out)
	}
	_, bundle := buildTest(t, func(o *BuildOptions) {
		o.Binary, o.Kernel, o.ModulesDir, o.Files = initBin, kernel, modulesDir, nil
		o.Modules = MergeModules(DefaultModules(), []ModuleSpec{{Name: "scsi_debug", Params: []string{"zbc=host-managed", "dev_size_mb=16"}}})
	})
	b, err := Open(bundle)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	dir := t.TempDir()
	k, initrd := filepath.Join(dir, "kernel"), filepath.Join(dir, "initrd")
	if err := b.ExtractKernel(k); err != nil {
		t.Fatal(err)
	}
	if err := b.ExtractInitramfs(initrd); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, qemu, "-accel", "tcg", "-cpu", "max", "-m", "512", "-nographic", "-no-reboot",
		"-kernel", k, "-initrd", initrd, "-append", "console=ttyS0,115200 panic=-1 edd=off").CombinedOutput()
	log := string(out)
	if err != nil && ctx.Err() != nil {
		t.Fatalf("QEMU did not power off in time:\n%s", log)
	}
	for _, want := range []string{"QEMU-INIT running as /init pid 1", "QEMU-INIT console Dcrw-------", "QEMU-INIT done"} {
		if !strings.Contains(log, want) {
			t.Fatalf("no %q in the console output:\n%s", want, log)
		}
	}
	if strings.Contains(log, "QEMU-INIT FAILED") {
		t.Fatalf("a module did not load:\n%s", log)
	}
	if n := strings.Count(log, "QEMU-INIT loaded"); n < 10 {
		t.Fatalf("only %d modules loaded:\n%s", n, log)
	}
	if !strings.Contains(log, "Direct-Access-ZBC") {
		t.Errorf("no host-managed disk from scsi_debug zbc=host-managed:\n%s", log)
	}
	for l := range strings.Lines(log) {
		if strings.Contains(l, "QEMU-INIT") || strings.Contains(l, "Direct-Access-ZBC") {
			t.Log(strings.TrimSpace(l))
		}
	}
}
