package direct_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/direct"
)

// BenchmarkSequential1MiB compares 1 MiB sequential O_DIRECT IO through the
// device layer with the same IO done by plain pread/pwrite on an O_DIRECT fd
// of the same file, interleaved request by request in one run so that both
// see the same device state. It reports both throughputs and their ratio
// (layer/raw); the device layer's target is a ratio of at least 0.97.
//
// PLINTH_BENCH_DIR puts the file on a filesystem of your choice (the
// default is the test's temporary directory).
func BenchmarkSequential1MiB(b *testing.B) {
	for _, op := range []string{"write", "read"} {
		b.Run(op, func(b *testing.B) { benchSequential(b, op) })
	}
}

func benchSequential(b *testing.B, op string) {
	const (
		ioSize = 1 << 20
		region = 256 << 20 // each side streams through its own region, wrapping
	)
	dir := os.Getenv("PLINTH_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	path := filepath.Join(dir, "plinth-bench.img")
	defer os.Remove(path)
	d, err := direct.Open(path, direct.Options{Create: true, Size: 2 * region})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	if !d.Geometry().DirectIO {
		b.Skipf("%s does not support O_DIRECT; set PLINTH_BENCH_DIR to a disk-backed filesystem", dir)
	}
	rawFD, err := unix.Open(path, unix.O_RDWR|unix.O_DIRECT|unix.O_CLOEXEC, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Close(rawFD)

	buf := dev.AlignedBuffer(ioSize)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	// Both regions are written once first, so reads read real blocks and
	// writes overwrite allocated ones on both sides.
	for off := int64(0); off < 2*region; off += ioSize {
		if _, err := d.WriteAt(buf, off); err != nil {
			b.Fatal(err)
		}
	}
	if err := d.Flush(); err != nil {
		b.Fatal(err)
	}

	rawOp := unix.Pwrite
	layerOp := d.WriteAt
	if op == "read" {
		rawOp = unix.Pread
		layerOp = d.ReadAt
	}
	var rawTime, layerTime time.Duration
	b.SetBytes(2 * ioSize)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		off := int64(i) * ioSize % region
		// Alternate which side goes first so neither always follows the other.
		for k := 0; k < 2; k++ {
			if (i+k)%2 == 0 {
				t0 := time.Now()
				if n, err := rawOp(rawFD, buf, off); err != nil || n != ioSize {
					b.Fatalf("raw %s at %d: n=%d err=%v", op, off, n, err)
				}
				rawTime += time.Since(t0)
			} else {
				t0 := time.Now()
				if _, err := layerOp(buf, region+off); err != nil {
					b.Fatal(err)
				}
				layerTime += time.Since(t0)
			}
		}
	}
	b.StopTimer()
	mb := float64(b.N) * ioSize / 1e6
	b.ReportMetric(mb/rawTime.Seconds(), "raw-MB/s")
	b.ReportMetric(mb/layerTime.Seconds(), "layer-MB/s")
	b.ReportMetric(rawTime.Seconds()/layerTime.Seconds(), "layer/raw")
}
