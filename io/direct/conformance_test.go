package direct_test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/devtest"
	"github.com/plinth-storage/plinth/io/direct"
)

// fileTarget is a regular file at path, created by the first Open.
func fileTarget(name, path string, size int64, blockSize int) devtest.Target {
	first := true
	return devtest.Target{
		Name: name,
		Open: func(testing.TB) (dev.Device, error) {
			opts := direct.Options{BlockSize: blockSize}
			if first {
				first = false
				opts.Create, opts.Size = true, size
			}
			return direct.Open(path, opts)
		},
		Exclusive:    true,
		StrictErrors: true,
	}
}

func TestConformanceFile(t *testing.T) {
	for _, bs := range []int{4096, 512} {
		name := "file-" + map[int]string{4096: "4k", 512: "512"}[bs]
		t.Run(name, func(t *testing.T) {
			devtest.Run(t, fileTarget(name, filepath.Join(t.TempDir(), "dev.img"), 16<<20, bs))
		})
	}
}

// TestConformanceFileTmpfs runs the suite on tmpfs, which before Linux 6.6
// has no O_DIRECT: the buffered fallback must keep the same contract.
func TestConformanceFileTmpfs(t *testing.T) {
	const shm = "/dev/shm"
	if fi, err := os.Stat(shm); err != nil || !fi.IsDir() {
		t.Skipf("no %s for a file without O_DIRECT", shm)
	}
	dir, err := os.MkdirTemp(shm, "plinth-direct-")
	if err != nil {
		t.Skipf("cannot create a file in %s: %v", shm, err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	tgt := fileTarget("file-tmpfs", filepath.Join(dir, "dev.img"), 16<<20, 4096)
	open, said := tgt.Open, false
	tgt.Open = func(tb testing.TB) (dev.Device, error) {
		d, err := open(tb)
		if err == nil && !said {
			said = true
			t.Logf("%s: DirectIO %v (false: the buffered fallback is under test)", d.Path(), d.Geometry().DirectIO)
		}
		return d, err
	}
	devtest.Run(t, tgt)
}

// TestConformanceLoop runs the suite on a loop device over a sparse file,
// with direct IO from the loop driver to the file.
func TestConformanceLoop(t *testing.T) {
	for _, sector := range []int{512, 4096} {
		t.Run(strconv.Itoa(sector), func(t *testing.T) {
			img := filepath.Join(t.TempDir(), "loop.img")
			if err := os.WriteFile(img, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(img, 32<<20); err != nil {
				t.Fatal(err)
			}
			loop := devtest.LoopDevice(t, img, sector)
			t.Logf("%s over %s", loop, img)
			devtest.Run(t, devtest.Target{
				Name: loop,
				Open: func(testing.TB) (dev.Device, error) {
					return direct.Open(loop, direct.Options{})
				},
				Exclusive: true,
				// Misalignment, range and closed-device errors come
				// from direct's own checks; a loop device is not zoned,
				// so the kernel-errno leniency never applies.
				StrictErrors: true,
			})
		})
	}
}
