package direct_test

import (
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/devtest"
	"github.com/plinth-storage/plinth/io/direct"
)

// conformanceDevices names real block devices for TestConformanceDevices:
// a comma-separated list of paths, or "zoned" for every host-managed zoned
// block device in /sys/block. The firmware boot test runs this test binary
// inside the QEMU guest against the NVMe ZNS namespaces and the scsi_debug
// host-managed disks, so the zoned code meets the kernel's zoned block
// layer. The suite is destructive: it writes and resets every zone.
var conformanceDevices = flag.String("conformance.devices", "", `block devices for TestConformanceDevices (DESTROYS their contents): "zoned" or /dev/x,/dev/y`)

func TestConformanceDevices(t *testing.T) {
	if *conformanceDevices == "" {
		t.Skip("no -conformance.devices: this test writes over real block devices, so it runs only on the ones named (the QEMU boot test names them)")
	}
	paths := strings.Split(*conformanceDevices, ",")
	if *conformanceDevices == "zoned" {
		var err error
		if paths, err = hostManagedDevices("/sys/block"); err != nil {
			t.Fatal(err)
		}
		if len(paths) == 0 {
			t.Fatal("-conformance.devices=zoned: no host-managed zoned block device in /sys/block")
		}
	}
	t.Logf("conformance: %d devices: %s", len(paths), strings.Join(paths, " "))
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			devtest.Run(t, devtest.Target{
				Name: p,
				Open: func(testing.TB) (dev.Device, error) {
					return direct.Open(p, direct.Options{})
				},
				Exclusive: true,
				// Zone-rule violations reach the drive and come back as
				// the kernel's errno.
				StrictErrors: false,
			})
		})
	}
}

// hostManagedDevices lists /dev/NAME for every entry of sysBlock whose
// queue/zoned says host-managed.
func hostManagedDevices(sysBlock string) ([]string, error) {
	entries, err := os.ReadDir(sysBlock)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		model, err := os.ReadFile(filepath.Join(sysBlock, e.Name(), "queue", "zoned"))
		if err != nil {
			continue
		}
		if strings.TrimSpace(string(model)) == "host-managed" {
			out = append(out, "/dev/"+e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

func TestHostManagedDevices(t *testing.T) {
	dir := t.TempDir()
	for name, model := range map[string]string{"nvme0n1": "host-managed", "sda": "host-managed\n", "vda": "none", "sdb": "host-aware"} {
		if err := os.MkdirAll(filepath.Join(dir, name, "queue"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "queue", "zoned"), []byte(model), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "loop0"), 0o755); err != nil { // no queue/zoned
		t.Fatal(err)
	}
	got, err := hostManagedDevices(dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "/dev/nvme0n1 /dev/sda" {
		t.Fatalf("got %v, want /dev/nvme0n1 /dev/sda", got)
	}
	if _, err := hostManagedDevices(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("a missing /sys/block gave no error")
	}
}
