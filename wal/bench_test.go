package wal

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/direct"
)

// BenchmarkGroupCommit measures the journal's group commit on three
// mirrors (three files, or three loop devices with direct IO when run as
// root), committing 256-byte transactions from 1, 16 and 256 goroutines.
// Each sub-benchmark reports commits/s, MB/s of transaction payload, and,
// measured in the same run on one of the mirrors (in a region the journal
// does not use), the rate of a plain loop of 4096-byte O_DIRECT pwrite +
// fdatasync ("raw-syncs/s") and the ratio of the two ("commits/raw-sync").
// The speedup sub-benchmark runs 1 and then 256 committers back to back
// on one journal and reports "speedup-256-vs-1" (commits/s with 256
// divided by commits/s with 1; the target is at least 50).
//
//	go test -run - -bench GroupCommit -benchtime 2s ./wal/
//
// PLINTH_BENCH_DIR puts the files (and the loop devices' backing files)
// on a filesystem of your choice; the default is the test's temporary
// directory, which must support O_DIRECT.
func BenchmarkGroupCommit(b *testing.B) {
	for _, backend := range []string{"file", "loop"} {
		b.Run("backend="+backend, func(b *testing.B) {
			r := newBenchRig(b, backend)
			for _, c := range []int{1, 16, 256} {
				b.Run(fmt.Sprintf("committers=%d", c), func(b *testing.B) { r.run(b, c) })
			}
			b.Run("speedup", r.speedup)
		})
	}
}

const (
	benchTxn     = 256
	benchRing    = 8
	benchSegSize = 4 << 20
	benchRawArea = 1 << 20 // after the ring: the raw loop's blocks
)

// benchRig is three drives for the mirrors, opened once per backend and
// shared by its sub-benchmarks (each creates a new journal on them).
type benchRig struct {
	paths []string
	devs  []dev.Device
}

func newBenchRig(b *testing.B, backend string) *benchRig {
	dir := os.Getenv("PLINTH_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	const size = benchRing*benchSegSize + benchRawArea
	r := &benchRig{}
	switch backend {
	case "file":
		for m := 0; m < 3; m++ {
			p := filepath.Join(dir, fmt.Sprintf("plinth-wal-bench%d.img", m))
			// Written zeros, not a sparse file: the journal and the raw
			// loop both overwrite allocated blocks.
			if err := writeZeros(p, size); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { os.Remove(p) })
			r.paths = append(r.paths, p)
		}
	case "loop":
		r.paths = loopDevices(b, dir, size)
	}
	for _, p := range r.paths {
		d, err := direct.Open(p, direct.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { d.Close() })
		if !d.Geometry().DirectIO {
			b.Skipf("%s does not support O_DIRECT; set PLINTH_BENCH_DIR to a disk-backed filesystem", dir)
		}
		r.devs = append(r.devs, d)
	}
	return r
}

func (r *benchRig) options() Options {
	var ms []Mirror
	for m, d := range r.devs {
		ms = append(ms, Mirror{Name: fmt.Sprintf("mirror%d", m), Node: testNode, Drive: backendDrives[m],
			Ring: conventionalRing(benchRing, benchSegSize)(d)})
	}
	return Options{Mirrors: ms}
}

// rawSyncs runs n 4096-byte O_DIRECT pwrites, each followed by an
// fdatasync, on the first mirror's drive (its own descriptor, in the area
// after the ring) and returns their rate per second.
func (r *benchRig) rawSyncs(b *testing.B, n int) float64 {
	fd, err := unix.Open(r.paths[0], unix.O_RDWR|unix.O_DIRECT|unix.O_CLOEXEC, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Close(fd)
	buf := dev.AlignedBuffer(4096)
	start := time.Now()
	for i := 0; i < n; i++ {
		buf[0] = byte(i)
		off := int64(benchRing*benchSegSize) + int64(i%(benchRawArea/4096))*4096
		if _, err := unix.Pwrite(fd, buf, off); err != nil {
			b.Fatal(err)
		}
		if err := unix.Fdatasync(fd); err != nil {
			b.Fatal(err)
		}
	}
	return float64(n) / time.Since(start).Seconds()
}

// commit commits n transactions of benchTxn bytes from committers
// goroutines, a checkpointer releasing what they committed, and returns
// how long it took.
func commitBench(b *testing.B, w *WAL, committers, n int) time.Duration {
	var left atomic.Int64
	left.Store(int64(n))
	var top atomic.Uint64
	stop := make(chan struct{})
	ckptDone := make(chan struct{})
	go func() {
		defer close(ckptDone)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if l := top.Load(); l > 0 {
					if err := w.Checkpoint(l); err != nil {
						b.Error(err)
						return
					}
				}
			}
		}
	}()
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < committers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			txn := make([]byte, benchTxn)
			for left.Add(-1) >= 0 {
				lsn, err := w.Commit(context.Background(), txn)
				if err != nil {
					b.Error(err)
					return
				}
				for {
					old := top.Load()
					if lsn <= old || top.CompareAndSwap(old, lsn) {
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stop)
	<-ckptDone
	return elapsed
}

func (r *benchRig) run(b *testing.B, committers int) {
	raw := r.rawSyncs(b, max(16, min(b.N, 500)))
	w, err := Create(r.options())
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	b.SetBytes(benchTxn)
	b.ResetTimer()
	elapsed := commitBench(b, w, committers, b.N)
	b.StopTimer()
	st := w.Stats()
	rate := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(rate, "commits/s")
	b.ReportMetric(raw, "raw-syncs/s")
	b.ReportMetric(rate/raw, "commits/raw-sync")
	b.ReportMetric(float64(st.Commits)/float64(max(st.Batches, 1)), "commits/batch")
}

// speedup commits with 1 and then 256 committers on one journal in the
// same run and reports the ratio of their rates.
func (r *benchRig) speedup(b *testing.B) {
	w, err := Create(r.options())
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	n1, n256 := b.N, max(64*b.N, 256*16)
	b.ResetTimer()
	t1 := commitBench(b, w, 1, n1)
	t256 := commitBench(b, w, 256, n256)
	b.StopTimer()
	r1, r256 := float64(n1)/t1.Seconds(), float64(n256)/t256.Seconds()
	b.ReportMetric(0, "ns/op") // an op is one commit of each kind: meaningless
	b.ReportMetric(r1, "commits/s-1")
	b.ReportMetric(r256, "commits/s-256")
	b.ReportMetric(r256/r1, "speedup-256-vs-1")
}
