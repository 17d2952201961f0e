package datalog

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/devtest"
	"github.com/plinth-storage/plinth/io/direct"
	"github.com/plinth-storage/plinth/seg"
	"github.com/plinth-storage/plinth/stripe"
)

// BenchmarkStripes writes a 4+2 set of six drives through the data log,
// full stripe after full stripe, then reads it back in 4 MiB ranges;
// beside it, in the same run, the raw rate of the same drives: 1 MiB
// O_DIRECT writes and reads, one goroutine per drive at once. The drives
// are six files ("files"), and six loop devices with direct IO over six
// files ("loop", as root; skipped with the reason otherwise). It reports
// the log's stream throughput, the raw aggregate, and the ratios the
// issue's targets are written in (0.9 each): write/(raw write x N/(N+K)),
// the stream's share of what the drives can take; and read/raw read.
// Reads of the stream touch the N data members only, so read/(raw x
// N/(N+K)) is reported too. PLINTH_BENCH_DIR chooses the filesystem
// (default: the test's temporary directory).
//
//	go test -run - -bench Stripes -benchtime 1x ./datalog/
func BenchmarkStripes(b *testing.B) {
	b.Run("files", func(b *testing.B) {
		benchStripes(b, func(path string) (dev.Device, error) {
			return direct.Open(path, direct.Options{Create: true, Size: benchDriveSize})
		})
	})
	b.Run("loop", func(b *testing.B) {
		benchStripes(b, func(path string) (dev.Device, error) {
			f, err := direct.Open(path, direct.Options{Create: true, Size: benchDriveSize})
			if err != nil {
				return nil, err
			}
			f.Close()
			return direct.Open(devtest.LoopDevice(b, path, 4096), direct.Options{})
		})
	})
}

const benchDriveSize = 512 << 20

func benchStripes(b *testing.B, open func(path string) (dev.Device, error)) {
	const (
		drives  = 6
		perFile = benchDriveSize
		unit    = 1 << 20
		chunk   = 4 << 20
	)
	l := stripe.Layout{N: 4, K: 2, Unit: unit}
	dir := os.Getenv("PLINTH_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	} else {
		var err error
		if dir, err = os.MkdirTemp(dir, "plinth-stripes-"); err != nil {
			b.Fatal(err)
		}
		defer os.RemoveAll(dir)
	}
	var devs []dev.Device
	for i := range drives {
		d, err := open(filepath.Join(dir, fmt.Sprintf("drive%d.img", i)))
		if err != nil {
			b.Skipf("O_DIRECT drives in %s: %v", dir, err)
		}
		defer d.Close()
		devs = append(devs, d)
	}
	set := Set{ID: 7, Layout: l}
	for i, d := range devs {
		set.Members = append(set.Members, Member{Loc: seg.Location{Dev: d, Index: 0, Start: 0, Capacity: perFile}, Node: uuid.New(), Drive: uuid.New(), Generation: uint64(i + 1)})
	}
	payload := make([]byte, chunk)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	var logW, logR, rawW, rawR float64 // bytes per second
	for range b.N {
		rawW, rawR = rawRates(b, devs, perFile)

		w, err := Create(set)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for w.End()+int64(len(payload)) <= w.Capacity() {
			if _, err := w.Append(payload); err != nil {
				b.Fatal(err)
			}
		}
		end, err := w.Flush()
		if err != nil {
			b.Fatal(err)
		}
		logW = float64(end) / time.Since(start).Seconds()

		r := Open(set, end)
		buf := make([]byte, chunk)
		start = time.Now()
		for off := int64(0); off+chunk <= end; off += chunk {
			if rep, err := r.ReadAt(buf, off); err != nil || len(rep.Missing)+len(rep.Corrupt) > 0 {
				b.Fatalf("read at %d: %v %+v", off, err, rep)
			}
		}
		logR = float64(end/chunk*chunk) / time.Since(start).Seconds()
	}
	mb := func(x float64) float64 { return x / 1e6 }
	eff := float64(l.N) / float64(l.N+l.K) * 4088 / 4096
	b.ReportMetric(mb(logW), "log-write-MB/s")
	b.ReportMetric(mb(logR), "log-read-MB/s")
	b.ReportMetric(mb(rawW), "raw-write-MB/s")
	b.ReportMetric(mb(rawR), "raw-read-MB/s")
	b.ReportMetric(logW/(rawW*eff), "write/(raw*N/(N+K))")
	b.ReportMetric(logR/rawR, "read/raw")
	b.ReportMetric(logR/(rawR*eff), "read/(raw*N/(N+K))")
}

// rawRates writes then reads every file whole in 1 MiB O_DIRECT requests,
// one goroutine per file, and returns the aggregate rates.
func rawRates(b *testing.B, devs []dev.Device, size int64) (write, read float64) {
	run := func(op func(d dev.Device, buf []byte, off int64) error) float64 {
		var wg sync.WaitGroup
		errs := make([]error, len(devs))
		start := time.Now()
		for i, d := range devs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := dev.AlignedBuffer(1 << 20)
				for off := int64(0); off < size; off += int64(len(buf)) {
					if err := op(d, buf, off); err != nil {
						errs[i] = err
						return
					}
				}
				if err := d.Flush(); err != nil {
					errs[i] = err
				}
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
		return float64(size) * float64(len(devs)) / time.Since(start).Seconds()
	}
	write = run(func(d dev.Device, buf []byte, off int64) error { _, err := d.WriteAt(buf, off); return err })
	read = run(func(d dev.Device, buf []byte, off int64) error { _, err := d.ReadAt(buf, off); return err })
	return write, read
}
