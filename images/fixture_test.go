package images

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// testEpoch is the SOURCE_DATE_EPOCH of the test builds.
const testEpoch = 1700000000

// testKernelVersion is the fake modules directory's kernel.
const testKernelVersion = "6.1.0-99-test"

var (
	tinyOnce sync.Once
	tinyPath string
	tinyErr  error
)

// tinyBinary is a small static Go program built once per test run: a
// stand-in for plinth that makes builds fast.
func tinyBinary(t testing.TB) string {
	t.Helper()
	tinyOnce.Do(func() {
		if _, err := exec.LookPath("go"); err != nil {
			tinyErr = fmt.Errorf("no go command: %w", err)
			return
		}
		// One place for every run (no TestMain to clean up after one): built
		// aside and renamed over it, so a concurrent run never sees half.
		dir := filepath.Join(os.TempDir(), "plinth-images-test")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tinyErr = err
			return
		}
		src, err := os.MkdirTemp(dir, "src-")
		if err != nil {
			tinyErr = err
			return
		}
		defer os.RemoveAll(src)
		prog := "package main\n\nimport \"os\"\n\nfunc main() { os.Stdout.WriteString(\"tiny\\n\") }\n"
		if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(prog), 0o644); err != nil {
			tinyErr = err
			return
		}
		if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module tiny\n\ngo 1.22\n"), 0o644); err != nil {
			tinyErr = err
			return
		}
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -buildid=", "-o", filepath.Join(src, "tiny"), ".")
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+DefaultArch, "GOFLAGS=-buildvcs=false")
		if out, err := cmd.CombinedOutput(); err != nil {
			tinyErr = fmt.Errorf("building the tiny binary: %v\n%s", err, out)
			return
		}
		tinyPath = filepath.Join(dir, "tiny")
		tinyErr = os.Rename(filepath.Join(src, "tiny"), tinyPath)
	})
	if tinyErr != nil {
		t.Skipf("needs a Go toolchain to build a test binary: %v", tinyErr)
	}
	return tinyPath
}

// testKey is a fixed ed25519 key (so bundles are reproducible across runs).
func testKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

// fakeModules is a modules.dep, in file order: module -> dependencies (all
// of them, as depmod writes). virtio_pci is xz-compressed and virtio_blk
// zstd-compressed, as newer Debian kernels ship them.
var fakeModules = []struct {
	path string
	deps []string
}{
	{"kernel/drivers/nvme/host/nvme.ko", []string{"kernel/drivers/nvme/host/nvme-core.ko", "kernel/lib/crc64.ko"}},
	{"kernel/drivers/nvme/host/nvme-core.ko", []string{"kernel/lib/crc64.ko"}},
	{"kernel/lib/crc64.ko", nil},
	{"kernel/drivers/scsi/sd_mod.ko", []string{"kernel/drivers/scsi/scsi_mod.ko", "kernel/drivers/scsi/scsi_common.ko"}},
	{"kernel/drivers/scsi/scsi_mod.ko", []string{"kernel/drivers/scsi/scsi_common.ko"}},
	{"kernel/drivers/scsi/scsi_common.ko", nil},
	{"kernel/drivers/scsi/scsi_debug.ko", []string{"kernel/drivers/scsi/scsi_mod.ko", "kernel/drivers/scsi/scsi_common.ko", "kernel/lib/crc-t10dif.ko"}},
	{"kernel/lib/crc-t10dif.ko", nil},
	{"kernel/drivers/virtio/virtio.ko", nil},
	{"kernel/drivers/virtio/virtio_ring.ko", nil},
	{"kernel/drivers/virtio/virtio_pci.ko.xz", []string{"kernel/drivers/virtio/virtio.ko", "kernel/drivers/virtio/virtio_ring.ko"}},
	{"kernel/drivers/block/virtio_blk.ko.zst", []string{"kernel/drivers/virtio/virtio.ko", "kernel/drivers/virtio/virtio_ring.ko"}},
	{"kernel/drivers/net/virtio_net.ko", []string{"kernel/drivers/virtio/virtio.ko", "kernel/drivers/virtio/virtio_ring.ko"}},
	{"kernel/drivers/misc/unused.ko", nil},
}

// fakeModuleContent is what a fake module decompresses to.
func fakeModuleContent(path string) []byte {
	return []byte("\x7fELF fake module " + uncompressedPath(path) + "\n")
}

// fakeModulesDir writes /lib/modules/KVER for the fake modules; ahci is
// built in; mpt3sas, ses, enclosure, button and evdev are missing.
func fakeModulesDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), testKernelVersion)
	var dep strings.Builder
	for _, m := range fakeModules {
		fmt.Fprintf(&dep, "%s:", m.path)
		for _, d := range m.deps {
			fmt.Fprintf(&dep, " %s", d)
		}
		dep.WriteString("\n")
		content := fakeModuleContent(m.path)
		var buf bytes.Buffer
		switch {
		case strings.HasSuffix(m.path, ".xz"):
			w, err := xz.NewWriter(&buf)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(content)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
		case strings.HasSuffix(m.path, ".zst"):
			w, err := zstd.NewWriter(&buf)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(content)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
		default:
			buf.Write(content)
		}
		writeTestFile(t, filepath.Join(dir, m.path), buf.Bytes(), 0o644)
	}
	writeTestFile(t, filepath.Join(dir, "modules.dep"), []byte(dep.String()), 0o644)
	writeTestFile(t, filepath.Join(dir, "modules.builtin"), []byte("kernel/drivers/ata/ahci.ko\nkernel/fs/ext4/ext4.ko\n"), 0o644)
	return dir
}

func writeTestFile(t testing.TB, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
}

// fakeKernel is a file that is not a bzImage (so its version is not checked).
func fakeKernel(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "vmlinuz")
	data := bytes.Repeat([]byte("not really a kernel. "), 5000)
	writeTestFile(t, p, data, 0o644)
	return p
}

// testOptions are a fast build's options: the tiny binary, the fake kernel
// and modules, the default modules with scsi_debug loaded, two extra files.
func testOptions(t testing.TB) BuildOptions {
	t.Helper()
	dir := t.TempDir()
	config := filepath.Join(dir, "config.json")
	writeTestFile(t, config, []byte(`{"data_dir": "/var/lib/plinth"}`+"\n"), 0o644)
	tool := filepath.Join(dir, "tool")
	writeTestFile(t, tool, []byte("#!/bin/sh\necho tool\n"), 0o755)
	return BuildOptions{
		Binary:     tinyBinary(t),
		Kernel:     fakeKernel(t),
		ModulesDir: fakeModulesDir(t),
		Modules: MergeModules(DefaultModules(), []ModuleSpec{
			{Name: "scsi_debug", Params: []string{"zbc=host-managed", "dev_size_mb=256"}},
		}),
		Files: []File{
			{Src: config, Dst: "/etc/plinth/config.json"},
			{Src: tool, Dst: "/test/bin/tool"},
			{Src: config, Dst: "/etc/plinth/token", Mode: 0o600},
		},
		Product:         DefaultProduct,
		Version:         "1.2.0",
		MinUpdateFrom:   "1.0.0",
		SourceDateEpoch: testEpoch,
		Key:             testKey(1),
		Output:          filepath.Join(t.TempDir(), "bundle"),
	}
}

// buildTest builds a bundle with testOptions changed by edit.
func buildTest(t testing.TB, edit func(o *BuildOptions)) (*Manifest, string) {
	t.Helper()
	o := testOptions(t)
	if edit != nil {
		edit(&o)
	}
	var progress bytes.Buffer
	o.Progress = &progress
	m, err := Build(context.Background(), o)
	if err != nil {
		t.Fatalf("Build: %v\n%s", err, progress.String())
	}
	return m, o.Output
}
