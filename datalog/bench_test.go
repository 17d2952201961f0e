package datalog

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
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
// full stripe after full stripe, then reads it back twice: with
// Sequential readers (SeqOptions.Depth below), and with ReadAt in 4 MiB
// ranges.
// Beside it, in the same run, the raw rate of the same drives: 1 MiB
// O_DIRECT writes and reads, one goroutine per drive at once (queue depth
// 1 per drive; PLINTH_BENCH_QD sets another). The drives are six files
// ("files"), and six loop devices with direct IO over six files ("loop",
// as root; skipped with the reason otherwise).
//
// The sequential read is measured at the raw read's concurrency: the
// Sequential's Depth is the number of 1 MiB reads the raw reader keeps in
// flight (QD x 6), and its reads are 1 MiB too (one data unit each), so
// both put the same number of same-sized requests to the disk at once;
// the Sequential only spreads them over the 4 data drives instead of 6.
// (Its window, 2 x Depth, buffers reads done out of order until the
// consumer reaches them; the raw reader, which checks nothing and keeps
// nothing, needs none.) The log reports the mean number of reads in
// flight of each, measured.
// PLINTH_BENCH_DEPTH overrides the Depth (to measure others; the ratio is
// then no longer at equal concurrency). The raw read, the Sequential and
// ReadAt take turns, an eighth of the drives or of the stream each in
// eight rounds, so that a drift of the disk's rate during the run (it
// moves by 30% between runs) weighs on all three alike.
//
// It reports the log's stream throughput, the raw aggregate, and the
// ratios the targets are written in (0.9 each):
// write/(raw write x N/(N+K)), the stream's share of what the drives can
// take; read/raw read for the Sequential, and readat/raw for ReadAt.
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
		rounds  = 8
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
	var ioBusy atomic.Int64 // the reads' summed time
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
		set.Members = append(set.Members, Member{Loc: seg.Location{Dev: busyDev{d, &ioBusy}, Index: 0, Start: 0, Capacity: perFile}, Node: uuid.New(), Drive: uuid.New(), Generation: uint64(i + 1)})
	}
	payload := make([]byte, chunk)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	qd := 1
	if v := os.Getenv("PLINTH_BENCH_QD"); v != "" {
		var err error
		if qd, err = strconv.Atoi(v); err != nil || qd < 1 {
			b.Fatalf("PLINTH_BENCH_QD=%q", v)
		}
	}
	depth := qd * drives // the raw reader's 1 MiB requests in flight
	if v := os.Getenv("PLINTH_BENCH_DEPTH"); v != "" {
		var err error
		if depth, err = strconv.Atoi(v); err != nil || depth < 1 {
			b.Fatalf("PLINTH_BENCH_DEPTH=%q", v)
		}
	}
	var logW, logR, logRA, rawW, rawR float64 // bytes per second
	for range b.N {
		rawW = float64(perFile*drives) / rawPass(b, devs, 0, perFile, qd, true).Seconds()

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

		// The three reads take turns, an eighth of the drives or of the
		// stream at a time, the first of a round rotating: a drift of the
		// disk's rate during the run weighs on all three alike.
		// busy sums the reads' durations of each (see busyDev).
		var busyRaw, busySeq, busyAt time.Duration
		bdevs := make([]dev.Device, len(devs))
		for i := range devs {
			bdevs[i] = set.Members[i].Loc.Dev
		}
		r := Open(set, end)
		buf := make([]byte, chunk)
		chunks := end / chunk
		var tRaw, tSeq, tAt time.Duration
		phases := []func(round int){
			func(round int) {
				b0 := ioBusy.Load()
				defer func() { busyRaw += time.Duration(ioBusy.Load() - b0) }()
				tRaw += rawPass(b, bdevs, int64(round)*perFile/rounds, int64(round+1)*perFile/rounds, qd, false)
			},
			func(round int) {
				lo, hi := int64(round)*end/rounds, int64(round+1)*end/rounds
				b0 := ioBusy.Load()
				defer func() { busySeq += time.Duration(ioBusy.Load() - b0) }()
				start := time.Now()
				q := r.NewSequential(lo, hi-lo, SeqOptions{Depth: depth})
				got := lo
				for {
					n, err := q.Read(buf)
					got += int64(n)
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatalf("sequential read at %d: %v", got, err)
					}
				}
				if rep := q.Report(); got != hi || len(rep.Missing)+len(rep.Corrupt) > 0 {
					b.Fatalf("sequential read [%d, %d): ended at %d, %v", lo, hi, got, rep)
				}
				q.Close()
				tSeq += time.Since(start)
			},
			func(round int) {
				b0 := ioBusy.Load()
				defer func() { busyAt += time.Duration(ioBusy.Load() - b0) }()
				start := time.Now()
				for c := int64(round) * chunks / rounds; c < int64(round+1)*chunks/rounds; c++ {
					if rep, err := r.ReadAt(buf, c*chunk); err != nil || len(rep.Missing)+len(rep.Corrupt) > 0 {
						b.Fatalf("read at %d: %v %+v", c*chunk, err, rep)
					}
				}
				tAt += time.Since(start)
			},
		}
		for round := range rounds {
			r0, s0, a0 := tRaw, tSeq, tAt
			for i := range phases {
				phases[(round+i)%len(phases)](round)
			}
			b.Logf("round %d: raw %.0f, sequential %.0f, ReadAt %.0f MB/s", round,
				float64(perFile*drives/rounds)/(tRaw-r0).Seconds()/1e6,
				float64(end/rounds)/(tSeq-s0).Seconds()/1e6,
				float64(chunks/rounds*chunk)/(tAt-a0).Seconds()/1e6)
		}
		b.Logf("mean reads in flight: raw %.2f, sequential %.2f (depth %d), ReadAt %.2f",
			busyRaw.Seconds()/tRaw.Seconds(), busySeq.Seconds()/tSeq.Seconds(), depth, busyAt.Seconds()/tAt.Seconds())
		rawR = float64(perFile*drives) / tRaw.Seconds()
		logR = float64(end) / tSeq.Seconds()
		logRA = float64(chunks*chunk) / tAt.Seconds()
	}
	mb := func(x float64) float64 { return x / 1e6 }
	eff := float64(l.N) / float64(l.N+l.K) * 4088 / 4096
	b.ReportMetric(mb(logW), "log-write-MB/s")
	b.ReportMetric(mb(logR), "log-read-MB/s")
	b.ReportMetric(mb(logRA), "log-readat-MB/s")
	b.ReportMetric(mb(rawW), "raw-write-MB/s")
	b.ReportMetric(mb(rawR), "raw-read-MB/s")
	b.ReportMetric(logW/(rawW*eff), "write/(raw*N/(N+K))")
	b.ReportMetric(logR/rawR, "read/raw")
	b.ReportMetric(logRA/rawR, "readat/raw")
	b.ReportMetric(logR/(rawR*eff), "read/(raw*N/(N+K))")
}

// rawPass writes (or reads) bytes [lo, hi) of every drive in 1 MiB
// O_DIRECT requests, qd goroutines per drive (each taking every qd-th
// MiB, so qd requests per drive are in flight), flushes the drives and
// returns the time it took.
func rawPass(b *testing.B, devs []dev.Device, lo, hi int64, qd int, write bool) time.Duration {
	const req = 1 << 20
	var wg sync.WaitGroup
	errs := make([]error, len(devs)*qd)
	start := time.Now()
	for i, d := range devs {
		for k := range qd {
			wg.Go(func() {
				buf := dev.AlignedBuffer(req)
				for off := lo + int64(k)*req; off < hi; off += int64(qd) * req {
					var err error
					if write {
						_, err = d.WriteAt(buf, off)
					} else {
						_, err = d.ReadAt(buf, off)
					}
					if err != nil {
						errs[i*qd+k] = err
						return
					}
				}
			})
		}
	}
	wg.Wait()
	for i, d := range devs {
		if err := d.Flush(); err != nil {
			errs[i*qd] = err
		}
	}
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start)
}

// busyDev sums the time of a device's reads into busy: the mean number of
// reads in flight over a pass is the sum over its duration.
type busyDev struct {
	dev.Device
	busy *atomic.Int64 // ns
}

func (d busyDev) ReadAt(p []byte, off int64) (int, error) {
	t := time.Now()
	n, err := d.Device.ReadAt(p, off)
	d.busy.Add(int64(time.Since(t)))
	return n, err
}
